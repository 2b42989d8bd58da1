"""A Django-like request cycle in plain Python: `Signal.connect`/`Signal.send`
calling receivers of different costs, and a middleware chain in which each
middleware wraps `get_response` of the next, so a request goes through the same
`Middleware.__call__` once per middleware, nested, before reaching its view.
A few hundred requests hit views of different costs."""
import random


class Signal:
    def __init__(self, name):
        self.name = name
        self.receivers = []

    def connect(self, receiver):
        self.receivers.append(receiver)
        return receiver

    def send(self, sender, **kwargs):
        return [(r, r(sender, **kwargs)) for r in self.receivers]


request_started = Signal("request_started")
request_finished = Signal("request_finished")
post_save = Signal("post_save")


def work(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


@request_started.connect
def reset_queries(sender, **kw):
    return work(10)


@request_finished.connect
def close_connections(sender, **kw):
    return work(25)


@post_save.connect
def invalidate_cache(sender, instance=None, **kw):
    return work(60 + len(instance) % 40)


@post_save.connect
def update_search_index(sender, instance=None, **kw):
    return sorted(instance.split())[:3] if work(300) >= 0 else None


class Middleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        self.process_request(request)
        response = self.get_response(request)
        return self.process_response(request, response)

    def process_request(self, request):
        pass

    def process_response(self, request, response):
        return response


class SecurityMiddleware(Middleware):
    def process_response(self, request, response):
        response["headers"].append("X-Frame-Options: DENY")
        return response


class SessionMiddleware(Middleware):
    def process_request(self, request):
        request["session"] = {k: work(8) for k in ("a", "b", "c")}


class AuthMiddleware(Middleware):
    def process_request(self, request):
        request["user"] = "user-%d" % (work(40) % 97)


class GZipMiddleware(Middleware):
    def process_response(self, request, response):
        body = response["body"]
        response["body"] = "".join(chr(33 + (ord(c) * 7) % 90) for c in body)
        return response


def index_view(request):
    return {"body": "hello " * 5, "headers": []}


def list_view(request):
    rows = sorted(("row-%d" % ((i * 7919) % 1000) for i in range(600)))
    return {"body": ",".join(rows[:40]), "headers": []}


def save_view(request):
    instance = "object %d title text" % request["id"]
    post_save.send(sender="Article", instance=instance)
    return {"body": instance, "headers": []}


def report_view(request):
    total = work(3000)
    return {"body": "total=%d" % total, "headers": []}


VIEWS = {"/": index_view, "/list": list_view, "/save": save_view, "/report": report_view}


def router(request):
    return VIEWS[request["path"]](request)


def build_handler():
    handler = router
    for cls in reversed([SecurityMiddleware, SessionMiddleware, AuthMiddleware, GZipMiddleware]):
        handler = cls(handler)
    return handler


def handle(handler, request):
    request_started.send(sender="handler")
    response = handler(request)
    request_finished.send(sender="handler")
    return response


def main():
    rng = random.Random(3)
    handler = build_handler()
    paths = ["/"] * 5 + ["/list"] * 3 + ["/save"] * 3 + ["/report"]
    n = 0
    for i in range(500):
        n += len(handle(handler, {"id": i, "path": rng.choice(paths)})["body"])
    print(n)


if __name__ == "__main__":
    main()
