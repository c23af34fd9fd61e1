/**
 * Errors Node's HTTP parser raises before Express sees a request (a request
 * line or headers over `maxHeaderSize`, a malformed request): answered with
 * an OperationOutcome like every other error, instead of Node's empty body.
 * Owns the `clientError` listener of the listening server; never reads or
 * logs what the client sent.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { toOperationOutcome } from '../kernel/errors';
import { FHIR_JSON } from './negotiation';

function answer(status: number, reason: string, message: string): string {
  const body = JSON.stringify(toOperationOutcome([{ severity: 'error', code: status === 431 ? 'too-long' : 'structure', message }]));
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${FHIR_JSON}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/** Installs the listener on `server` (main.ts, and tests that listen on a real port). */
export function answerClientErrors(server: Server): Server {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    socket.end(
      tooLarge
        ? answer(431, 'Request Header Fields Too Large', 'the request line or headers are larger than the server accepts (a long search belongs in POST [type]/_search)')
        : answer(400, 'Bad Request', 'the request could not be parsed as HTTP'),
    );
  });
  return server;
}
