// Webhooks and events (/api/v1/events, /events/:id, /events/deliveries, /events/:id/redeliver):
// the endpoints' recent deliveries (state, attempts, response code, last error), the events
// recorded in the outbox with filters and cursor paging, and one event's deliveries with a
// button that makes them due again. Endpoints of the configuration file are named config:<name>.
import { useState } from 'preact/hooks';
import { type Delivery, type EventFilter, type EventRecord, getEvent, listDeliveries, listEvents, redeliver } from '../../admin-api';
import { Show, useLoad } from '../../components';
import { shortDigest } from '../../format';
import { ActionError, AdminForm, Field, useAction, When } from './shared';

export function Webhooks() {
  return (
    <section aria-labelledby="webhooks-heading">
      <h1 id="webhooks-heading">Webhooks and events</h1>
      <Deliveries />
      <Events />
    </section>
  );
}

function Deliveries() {
  const [state, setState] = useState<Delivery['state'] | ''>('');
  const [loaded, reload] = useLoad(() => listDeliveries(state === '' ? undefined : state), [state]);
  return (
    <section aria-labelledby="deliveries-heading">
      <h2 id="deliveries-heading">Recent deliveries</h2>
      <div class="admin-form">
        <div class="field">
          <label for="delivery-state">State</label>
          <select id="delivery-state" value={state} onChange={(event) => setState(event.currentTarget.value as Delivery['state'] | '')}>
            <option value="">any</option>
            <option value="pending">pending</option>
            <option value="delivered">delivered</option>
          </select>
        </div>
        <button type="button" class="secondary" onClick={reload}>
          Refresh deliveries
        </button>
      </div>
      <Show loaded={loaded} what="deliveries">
        {(deliveries) =>
          deliveries.length === 0 ? (
            <p class="muted">No deliveries.</p>
          ) : (
            <DeliveryTable deliveries={deliveries} caption="Recent deliveries" />
          )
        }
      </Show>
    </section>
  );
}

function DeliveryTable({ deliveries, caption }: { deliveries: Delivery[]; caption: string }) {
  return (
    <table class="listing">
      <caption class="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Endpoint</th>
          <th scope="col">Event</th>
          <th scope="col">State</th>
          <th scope="col">Attempts</th>
          <th scope="col">Response</th>
          <th scope="col">Last error</th>
          <th scope="col">Updated</th>
        </tr>
      </thead>
      <tbody>
        {deliveries.map((delivery) => (
          <tr key={`${delivery.endpoint}/${delivery.eventId}`}>
            <td>{delivery.endpoint}</td>
            <td>
              <code>{delivery.eventId}</code>
            </td>
            <td>{delivery.state}</td>
            <td>{delivery.attempts}</td>
            <td>{delivery.responseCode ?? '–'}</td>
            <td>{delivery.lastError ?? ''}</td>
            <td>
              <When at={delivery.updatedAt} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Events() {
  const [filter, setFilter] = useState<EventFilter>({});
  const [action, setAction] = useState('');
  const [repository, setRepository] = useState('');
  const [actor, setActor] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const before = cursors.at(-1);
  const [loaded] = useLoad(() => listEvents({ ...filter, ...(before === undefined ? {} : { before }) }), [filter, before]);
  const [open, setOpen] = useState<string | undefined>();
  const apply = (): void => {
    setCursors([]);
    setFilter({ action: action.trim(), repository: repository.trim(), actor: actor.trim() });
  };
  return (
    <section aria-labelledby="events-heading">
      <h2 id="events-heading">Events</h2>
      <AdminForm label="Filter events" onSubmit={apply}>
        <Field id="event-action" label="Action" value={action} onInput={setAction} hint="push, pull or delete." />
        <Field id="event-repository" label="Repository" value={repository} onInput={setRepository} />
        <Field id="event-actor" label="Actor" value={actor} onInput={setActor} />
        <button type="submit" class="secondary">
          Filter events
        </button>
      </AdminForm>
      <Show loaded={loaded} what="events">
        {(page) => (
          <>
            {page.events.length === 0 ? (
              <p class="muted">No events.</p>
            ) : (
              <table class="listing">
                <caption class="visually-hidden">Events, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Action</th>
                    <th scope="col">Repository</th>
                    <th scope="col">Tag or digest</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Deliveries</th>
                  </tr>
                </thead>
                <tbody>
                  {page.events.map((event) => (
                    <EventRow
                      key={event.id}
                      event={event}
                      open={open === event.id}
                      toggle={() => setOpen(open === event.id ? undefined : event.id)}
                    />
                  ))}
                </tbody>
              </table>
            )}
            <nav class="pager" aria-label="Pages of events">
              {cursors.length > 0 && (
                <button type="button" class="secondary" onClick={() => setCursors(cursors.slice(0, -1))}>
                  Newer events
                </button>
              )}
              {page.next !== undefined && (
                <button type="button" class="secondary" onClick={() => setCursors([...cursors, page.next as string])}>
                  Older events
                </button>
              )}
            </nav>
          </>
        )}
      </Show>
      {open !== undefined && <EventDeliveries id={open} />}
    </section>
  );
}

function EventRow({ event, open, toggle }: { event: EventRecord; open: boolean; toggle: () => void }) {
  return (
    <tr>
      <td>
        <When at={event.createdAt} />
      </td>
      <td>{event.action}</td>
      <td>{event.repository ?? ''}</td>
      <td>{event.tag ?? (event.digest === undefined ? '' : <code>{shortDigest(event.digest)}</code>)}</td>
      <td>{event.actor ?? <span class="muted">anonymous</span>}</td>
      <td>
        <button type="button" class="secondary" aria-expanded={open} onClick={toggle}>
          Deliveries of {event.action} {event.tag ?? ''} at {new Date(event.createdAt).toLocaleTimeString()}
        </button>
      </td>
    </tr>
  );
}

function EventDeliveries({ id }: { id: string }) {
  const [loaded, reload] = useLoad(() => getEvent(id), [id]);
  const action = useAction();
  const [count, setCount] = useState<number | undefined>();
  const again = async (): Promise<void> => {
    setCount(undefined);
    await action.run(async () => {
      setCount(await redeliver(id));
      reload();
    });
  };
  return (
    <section aria-labelledby="event-deliveries-heading" class="card">
      <h3 id="event-deliveries-heading">
        Deliveries of event <code>{id}</code>
      </h3>
      <Show loaded={loaded} what="the event's deliveries">
        {(event) =>
          event.deliveries.length === 0 ? (
            <p class="muted">No endpoint was sent this event.</p>
          ) : (
            <>
              <DeliveryTable deliveries={event.deliveries} caption={`Deliveries of event ${id}`} />
              <button type="button" disabled={action.busy} onClick={again}>
                Redeliver
              </button>
            </>
          )
        }
      </Show>
      <ActionError action={action} />
      {count !== undefined && (
        <p role="status" class="notice">
          Due again now: {count} {count === 1 ? 'delivery' : 'deliveries'}.
        </p>
      )}
    </section>
  );
}
