import { DomainError } from '../../core/errors/domain-error';

/** Every provider failed, timed out or is skipped by its open circuit: 503, the client may retry. */
export class AiUnavailableError extends DomainError {
  constructor(readonly attempts: string[]) {
    super('unavailable', 'No AI provider could answer; try again shortly');
  }
}

/** One provider call failed; the chain moves on to the next provider. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly kind: 'error' | 'timeout',
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}
