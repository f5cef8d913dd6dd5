"""Free TCP ports for benchmark servers (HTTP and gRPC each need one)."""
import socket


def free_ports(n):
    """n distinct free ports on 127.0.0.1, picked while all are held open."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports
