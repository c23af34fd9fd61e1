/**
 * The bare Express baseline of the Binary benchmark (binary.ts): `POST /upload` streams the
 * body to a file on disk, `GET /download` streams that file back. Nothing else: no token, no
 * database, no audit — the cost of moving the bytes through Node and Express alone.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import express from 'express';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-bench-binary-'));
const file = path.join(dir, 'upload.bin');
const app = express();
app.post('/upload', async (req, res) => {
  await pipeline(req, fs.createWriteStream(file));
  res.status(201).json({ size: fs.statSync(file).size });
});
app.get('/download', async (_req, res) => {
  res.setHeader('Content-Type', 'application/pdf');
  res.setHeader('Content-Length', String(fs.statSync(file).size));
  await pipeline(fs.createReadStream(file), res);
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ msg: 'binary baseline listening', port: typeof address === 'object' && address ? address.port : 0 }));
});
process.on('SIGTERM', () =>
  server.close(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }),
);
