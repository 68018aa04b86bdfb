"""The phase17 WebSocket probe: runs ON THE HOST with the server's own Python (standard library only),
fed to ``python -I -`` on its standard input by ``rollbook.systems.phase17.facts.Phase17Effect``.

Waits for health, sends a real WebSocket upgrade (Sec-WebSocket-Key, version 13) and reads the
status; on 101 checks the Sec-WebSocket-Accept answer, reads the first message and closes properly;
then, when asked, measures the server's VmRSS (from /proc, nothing the server reports) around
``cycles`` connect/disconnect cycles. Prints one
``key value`` line per result. Arguments: base URL, stream path, health path, seconds, server pid, cycles::

    python -I - http://127.0.0.1:8000 '/ws/video/stream?pipeline_id=yolo_ocr' /v1/health 30 1234 20 < ws_probe.py
"""
import base64, hashlib, json, os, socket, sys, time, urllib.request
from urllib.parse import urlsplit
base, stream, health, timeout, pid, cycles = sys.argv[1:7]
url = urlsplit(base)
addr = (url.hostname, url.port or 80)
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

def get_health():
    try:
        with urllib.request.urlopen(base + health, timeout=2) as response:
            return response.status, json.loads(response.read() or b"{}")
    except Exception as error:
        return getattr(error, "code", 0), {}

def recv(sock, buf, size):
    while len(buf) < size:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf

def session():
    key = base64.b64encode(os.urandom(16)).decode()
    sock = socket.create_connection(addr, timeout=10)
    try:
        sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                      "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                      % (stream, addr[0], addr[1], key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(65536)
            if not chunk:
                break
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        words = lines[0].split()
        status = int(words[1]) if len(words) > 1 and words[1].isdigit() else 0
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        accepted = status == 101 and headers.get("sec-websocket-accept") == want
        message = ""
        if status == 101:
            rest = recv(sock, rest, 2)
            size, start = rest[1] & 0x7F, 2
            if size == 126:
                rest = recv(sock, rest, 4)
                size, start = int.from_bytes(rest[2:4], "big"), 4
            rest = recv(sock, rest, start + size)
            message = rest[start:start + size].decode("utf-8", "replace") if rest[0] & 0x0F == 1 else ""
            mask = os.urandom(4)
            payload = (1000).to_bytes(2, "big")
            sock.sendall(bytes([0x88, 0x82]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
            try:
                while sock.recv(65536):
                    pass
            except OSError:
                pass
        return status, accepted, message
    finally:
        sock.close()

def rss():
    try:
        with open("/proc/%s/status" % pid) as status:
            return int([line.split()[1] for line in status if line.startswith("VmRSS:")][0])
    except (OSError, IndexError, ValueError):
        return -1

def steady_rss():
    """The server's VmRSS once it stops moving (closed sessions released): two equal readings 0.2 s
    apart, or the last reading after 5 s."""
    deadline, last = time.time() + 5, rss()
    while time.time() < deadline:
        time.sleep(0.2)
        now = rss()
        if now == last:
            break
        last = now
    return last

deadline = time.time() + float(timeout)
while True:
    code, body = get_health()
    if code == 200 or time.time() > deadline:
        break
    time.sleep(0.5)
print("health %d" % code)
try:
    status, accepted, message = session()
except Exception as error:
    status, accepted, message = 0, False, "%s: %s" % (type(error).__name__, error)
print("upgrade %d %s" % (status, "accepted" if accepted else "not-accepted"))
print("message " + " ".join(message.split()))
if int(cycles) and accepted:
    try:
        for _ in range(5):  # warm-up: the allocator settles on its first frame buffers
            session()
        before = steady_rss()
        for _ in range(int(cycles)):
            session()
        print("rss %d %d" % (before, steady_rss()))
    except Exception as error:
        print("cycles failed: %s: %s" % (type(error).__name__, error))
