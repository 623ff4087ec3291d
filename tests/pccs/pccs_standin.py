#!/usr/bin/env python3
"""A PCCS stand-in for tests: serves real Intel DCAP collateral (the JSON files of
tests/data/tdx/) through the PCCS / Intel PCS v4 API, as a PCCS answers it:

  GET /sgx/certification/v4/pckcrl?ca=platform|processor[&encoding=der]
      DER CRL (hex text without encoding=der, as PCCS does), header SGX-PCK-CRL-Issuer-Chain
  GET /{sgx,tdx}/certification/v4/tcb?fmspc=HEX
      {"tcbInfo":<the signed bytes>,"signature":"<hex>"}, header TCB-Info-Issuer-Chain
      (SGX-TCB-Info-Issuer-Chain on the sgx path)
  GET /{sgx,tdx}/certification/v4/qe/identity[?update=standard|early]
      {"enclaveIdentity":<the signed bytes>,"signature":"<hex>"}, header
      SGX-Enclave-Identity-Issuer-Chain
  GET /sgx/certification/v4/rootcacrl        hex of the DER root CA CRL (PCCS)

Issuer chains are percent-encoded PEM (every reserved byte encoded, as Intel does).
Each --collateral FILE serves its FMSPC (read from its tcb_info) and the PCK CA named
by its pck_crl_issuer_chain's first certificate; the last file given is the default
for the platform-independent answers. Every request line is appended to --log.
--port-file gets the bound port once serving. Stops on SIGTERM."""
import argparse
import json
import signal
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def first_cert_subject(pem):
    cert = pem[: pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")] + "\n"
    out = subprocess.run(["openssl", "x509", "-noout", "-subject"], input=cert.encode(),
                         capture_output=True, check=True).stdout.decode()
    return out


def load(path):
    c = json.load(open(path))
    fmspc = json.loads(c["tcb_info"])["fmspc"].upper()
    subj = first_cert_subject(c["pck_crl_issuer_chain"])
    ca = "processor" if "Processor CA" in subj else "platform"
    return {"c": c, "fmspc": fmspc, "ca": ca}


def enc(pem):
    return urllib.parse.quote(pem, safe="")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--collateral", action="append", required=True)
    ap.add_argument("--log")
    ap.add_argument("--port-file")
    a = ap.parse_args()
    sets = [load(p) for p in a.collateral]
    lock = threading.Lock()

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def send(self, code, body, ctype, headers=()):
            if isinstance(body, str):
                body = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if a.log:
                with lock, open(a.log, "a") as f:
                    f.write(self.path + "\n")
            u = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(u.query))
            parts = u.path.split("/")
            # /<tee>/certification/v4/<what...>
            if len(parts) < 5 or parts[0] or parts[1] not in ("sgx", "tdx") or parts[2:4] != ["certification", "v4"]:
                return self.send(404, "", "text/plain")
            tee, what = parts[1], "/".join(parts[4:])
            default = sets[-1]["c"]
            if tee == "sgx" and what == "pckcrl":
                s = next((x for x in reversed(sets) if x["ca"] == q.get("ca")), None)
                if not s:
                    return self.send(404, "", "text/plain")
                c = s["c"]
                der = bytes.fromhex(c["pck_crl"])
                hdr = [("SGX-PCK-CRL-Issuer-Chain", enc(c["pck_crl_issuer_chain"]))]
                if q.get("encoding") == "der":
                    return self.send(200, der, "application/pkix-crl", hdr)
                return self.send(200, c["pck_crl"], "application/x-pem-file", hdr)
            if tee == "sgx" and what == "rootcacrl":
                return self.send(200, default["root_ca_crl"], "application/x-pem-file")
            if what == "tcb":
                s = next((x for x in reversed(sets) if x["fmspc"] == q.get("fmspc", "").upper()), None)
                if not s:
                    return self.send(404, "", "text/plain")
                c = s["c"]
                body = '{"tcbInfo":' + c["tcb_info"] + ',"signature":"' + c["tcb_info_signature"] + '"}'
                name = "TCB-Info-Issuer-Chain" if tee == "tdx" else "SGX-TCB-Info-Issuer-Chain"
                return self.send(200, body, "application/json", [(name, enc(c["tcb_info_issuer_chain"]))])
            if what == "qe/identity":
                c = default
                body = '{"enclaveIdentity":' + c["qe_identity"] + ',"signature":"' + c["qe_identity_signature"] + '"}'
                return self.send(200, body, "application/json",
                                 [("SGX-Enclave-Identity-Issuer-Chain", enc(c["qe_identity_issuer_chain"]))])
            return self.send(404, "", "text/plain")

    host, port = a.listen.rsplit(":", 1)
    srv = ThreadingHTTPServer((host, int(port)), H)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]) + "\n")
        import os
        os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
