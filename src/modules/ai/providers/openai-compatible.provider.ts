import { canonicalJson } from '../ai.keys';
import { ProviderError } from '../ai.errors';
import type { AiProvider, AiRequest } from './ai-provider';

export const OPENAI_COMPATIBLE = 'openai-compatible:';

const SYSTEM_PROMPT = 'You are the Switchboard assistant. Answer the user concisely and helpfully.';

interface ChatCompletion {
  choices?: Array<{ message?: { content?: unknown } }>;
}

/**
 * Any server speaking the OpenAI chat completions API
 * (POST <base>/chat/completions). No batching: the synchronous API has no
 * batch endpoint, so a batch is sent as concurrent calls within the cap.
 */
export class OpenAiCompatibleProvider implements AiProvider {
  readonly name: string;
  readonly supportsBatch = false;
  private readonly endpoint: string;

  constructor(
    baseUrl: string,
    private readonly model: string,
    private readonly apiKey: string | undefined,
  ) {
    this.name = `${OPENAI_COMPATIBLE}${baseUrl}`;
    this.endpoint = `${baseUrl.replace(/\/+$/, '')}/chat/completions`;
  }

  async complete(request: AiRequest, signal: AbortSignal): Promise<string> {
    const messages = [{ role: 'system', content: SYSTEM_PROMPT }];
    if (typeof request.context === 'string' && request.context.trim()) {
      messages.push({ role: 'system', content: `Context: ${request.context}` });
    } else if (request.context && typeof request.context === 'object' && Object.keys(request.context).length) {
      messages.push({ role: 'system', content: `Context (JSON): ${canonicalJson(request.context)}` });
    }
    messages.push({ role: 'user', content: request.query });
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let res: Response;
    try {
      res = await fetch(this.endpoint, { method: 'POST', headers, body: JSON.stringify({ model: this.model, messages }), signal });
    } catch (err) {
      if (signal.aborted) throw new ProviderError('timed out', 'timeout');
      throw new ProviderError(`request failed: ${(err as Error).message}`, 'error');
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new ProviderError(`HTTP ${res.status}`, 'error');
    }
    let body: ChatCompletion;
    try {
      body = (await res.json()) as ChatCompletion;
    } catch {
      if (signal.aborted) throw new ProviderError('timed out', 'timeout');
      throw new ProviderError('response is not JSON', 'error');
    }
    const content = body?.choices?.[0]?.message?.content;
    if (typeof content !== 'string' || !content.trim()) throw new ProviderError('response has no choices[0].message.content', 'error');
    return content;
  }
}
