/** Sockets and SSE resolve a client's address exactly as HTTP does (TRUSTED_PROXIES). */
export { clientAddress as clientIp } from '../http/client-address';
