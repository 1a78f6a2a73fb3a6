import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import { EventRouting, EventRoutingError } from './event-routing';

/**
 * The Socket.IO namespaces this process serves, as their gateways attach
 * (NamespaceGateway.afterInit). Each must be one whose events a gateway
 * declared (@NamespaceEvents), and each declared one must be attached by the
 * time the application has booted: an event routed there would reach nobody.
 */
@Injectable()
export class SocketNamespaces implements OnApplicationBootstrap {
  private readonly byName = new Map<string, Namespace>();

  constructor(private readonly routing: EventRouting) {}

  attach(nsp: Namespace): void {
    if (!this.routing.namespaces().includes(nsp.name)) {
      throw new EventRoutingError(`The gateway of ${nsp.name} declares no server events: add @NamespaceEvents({ namespace: '${nsp.name}', events: [...] })`);
    }
    this.byName.set(nsp.name, nsp);
  }

  onApplicationBootstrap(): void {
    const missing = this.routing.namespaces().filter((name) => !this.byName.has(name));
    if (missing.length) throw new EventRoutingError(`Events are declared for ${missing.join(', ')} but no gateway serves it`);
  }

  get(name: string): Namespace | undefined {
    return this.byName.get(name);
  }

  all(): Namespace[] {
    return [...this.byName.values()];
  }
}
