"""py-threads: a ThreadPoolExecutor and asyncio (its default executor, a queue, sleeps, a subprocess-free gather)."""
import asyncio
import concurrent.futures
import hashlib
import threading

pool = None


def init():
    global pool
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)
    list(pool.map(lambda x: x * x, range(8)))


def digest(chunk):
    return hashlib.sha256(chunk).hexdigest()[:8]


async def pipeline(data):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()
    lock = asyncio.Lock()
    out = []

    async def producer():
        for i in range(0, len(data), 4):
            await queue.put(data[i:i + 4])
            await asyncio.sleep(0)
        await queue.put(None)

    async def consumer():
        while (chunk := await queue.get()) is not None:
            h = await loop.run_in_executor(pool, digest, chunk)
            async with lock:
                out.append(h)

    await asyncio.gather(producer(), consumer(), asyncio.sleep(0.01))
    event = threading.Event()
    loop.call_soon_threadsafe(event.set)
    await asyncio.wait_for(loop.run_in_executor(None, event.wait, 1), timeout=2)
    return out


def handle(request):
    hashes = asyncio.run(pipeline(request or b"hello threads"))
    futures = [pool.submit(digest, request + bytes([i])) for i in range(4)]
    done = [f.result(timeout=5) for f in concurrent.futures.as_completed(futures)]
    return ("%d %d %d" % (len(hashes), len(done), threading.active_count())).encode()
