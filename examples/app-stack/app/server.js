// A tiny HTTP service: `/` greets, `/healthz` answers the image's HEALTHCHECK.
"use strict";
const http = require("http");

const server = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200).end("ok\n");
    return;
  }
  res.writeHead(200, { "content-type": "text/plain" }).end("hello from the private registry\n");
});

server.listen(8080, () => console.log("listening on :8080"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
