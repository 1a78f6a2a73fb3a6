import { DiscoveryService } from '@nestjs/core';

export interface NamespaceEventsOptions {
  /** The Socket.IO namespace of the gateway this decorates: `/chat`, or `/` for the default one. */
  namespace: string;
  /**
   * The server events this namespace delivers: exact names (`typing`) or a prefix and a star
   * (`message:*`). A lone `*` takes every event no namespace claims (core's `/realtime` and `/`).
   * `system:*` is core's and goes to every namespace.
   */
  events: string[];
  /** The room whose sockets an event skips, if any (its sender's own sockets: `typing`). */
  skipRoom?: (eventType: string, payload: Record<string, unknown>) => string | undefined;
}

/**
 * On a gateway: the server events its namespace delivers. Core's fan-out
 * routes each event by these declarations (STYLE.md rule 11), so a feature's
 * events reach its namespace without core knowing their names.
 */
export const NamespaceEvents = DiscoveryService.createDecorator<NamespaceEventsOptions>();

/** Declarations that overlap, or a namespace that is malformed: the process refuses to start. */
export class EventRoutingError extends Error {
  override readonly name = 'EventRoutingError';
}

const SYSTEM_PREFIX = 'system:';
const NAMESPACE = /^\/([a-z][a-z0-9-]{0,31})?$/;
const EVENT = /^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)*(:\*)?$/;

/**
 * Which namespaces deliver an event type, and which room it skips: built once
 * from every gateway's @NamespaceEvents (or given declarations, in specs).
 */
export class EventRouting {
  private readonly exact = new Map<string, string>();
  /** [prefix including ':', namespace], longest prefix first. */
  private readonly prefixes: [string, string][] = [];
  private readonly fallback: string[] = [];
  private readonly all: string[] = [];
  private readonly skips = new Map<string, NonNullable<NamespaceEventsOptions['skipRoom']>>();

  constructor(declarations: NamespaceEventsOptions[]) {
    for (const { namespace, events, skipRoom } of declarations) {
      if (!NAMESPACE.test(namespace)) throw new EventRoutingError(`"${namespace}" is not a namespace (/name or /)`);
      if (this.all.includes(namespace)) throw new EventRoutingError(`Two gateways declare the events of ${namespace}`);
      this.all.push(namespace);
      if (skipRoom) this.skips.set(namespace, skipRoom);
      for (const event of events) this.claim(namespace, event);
    }
    this.prefixes.sort((a, b) => b[0].length - a[0].length);
    if (declarations.length && !this.fallback.length) throw new EventRoutingError('No namespace takes the events nobody claims (events: ["*"])');
  }

  /** Every gateway's @NamespaceEvents. Only metadata is read, so this works before any provider is built. */
  static discover(discovery: DiscoveryService): EventRouting {
    const declarations = discovery
      .getProviders({ metadataKey: NamespaceEvents.KEY })
      .map((wrapper) => discovery.getMetadataByDecorator(NamespaceEvents, wrapper))
      .filter((d): d is NamespaceEventsOptions => !!d);
    return new EventRouting(declarations);
  }

  private claim(namespace: string, event: string): void {
    if (event === '*') {
      this.fallback.push(namespace);
      return;
    }
    if (!EVENT.test(event)) throw new EventRoutingError(`"${event}" (${namespace}) is not an event name or a "prefix:*" pattern`);
    if (event.startsWith(SYSTEM_PREFIX)) throw new EventRoutingError(`${namespace} claims "${event}": system:* events are core's and go to every namespace`);
    if (event.endsWith(':*')) {
      const prefix = event.slice(0, -1);
      const other = this.prefixes.find(([p]) => p === prefix);
      if (other) throw new EventRoutingError(`"${event}" is claimed by both ${other[1]} and ${namespace}`);
      this.prefixes.push([prefix, namespace]);
      return;
    }
    const other = this.exact.get(event);
    if (other) throw new EventRoutingError(`"${event}" is claimed by both ${other} and ${namespace}`);
    this.exact.set(event, namespace);
  }

  /** The namespaces declared (each must have its gateway attached). */
  namespaces(): string[] {
    return [...this.all];
  }

  /** Where an event goes: system:* everywhere; a claimed event to its namespace; anything else to the fallback ones. */
  namespacesFor(eventType: string): string[] {
    if (eventType.startsWith(SYSTEM_PREFIX)) return this.all;
    const owner = this.ownerOf(eventType);
    return owner ? [owner] : this.fallback;
  }

  /** The room whose sockets this event skips (the sender's), as its namespace declared. */
  roomToSkip(eventType: string, payload: Record<string, unknown>): string | undefined {
    const owner = this.ownerOf(eventType);
    return owner ? this.skips.get(owner)?.(eventType, payload) : undefined;
  }

  private ownerOf(eventType: string): string | undefined {
    const exact = this.exact.get(eventType);
    if (exact) return exact;
    for (const [prefix, namespace] of this.prefixes) if (eventType.startsWith(prefix)) return namespace;
    return undefined;
  }
}
