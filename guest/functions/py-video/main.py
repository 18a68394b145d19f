"""py-video: PyAV (FFmpeg's libraries) decodes a Motion JPEG clip, turns every frame gray and encodes the frames
again as Motion JPEG at a fixed quantiser.

Run by guest/python/snapfn_shim.py: init() once before the snapshot, handle() once per request.
"""

# FFmpeg's MJPEG encoder scales its quantisation tables by this quantiser (2 best .. 31 worst), held fixed by
# qmin = qmax: with qscale and global_quality alone the library (unlike the ffmpeg CLI) leaves it at qmin.
QUANTISER = 4


def init():
    global io, av
    import io

    import av

    # swscale warns about the yuvj (full-range) formats each time it builds a converter; MJPEG is full range.
    av.logging.set_level(av.logging.ERROR)
    # A one-frame round trip loads and initialises the MJPEG decoder, encoder, muxer, demuxer and the
    # gray <-> yuvj420p converters before the snapshot point.
    probe = av.VideoFrame(64, 48, "gray")
    probe.planes[0].update(bytes(probe.planes[0].buffer_size))
    _decode_gray(_encode([probe], 64, 48))


def _decode_gray(data):
    """Every frame of a Motion JPEG stream, in order, as gray: the Y plane of the decoded full-range YCbCr."""
    with av.open(io.BytesIO(data), format="mjpeg") as clip:
        video = clip.streams.video[0]
        # The VM has one thread: FFmpeg must not try to start workers.
        video.codec_context.thread_count = 1
        return [frame.reformat(format="gray") for frame in clip.decode(video)]


def _encode(frames, width, height):
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mjpeg") as output:
        stream = output.add_stream("mjpeg", rate=30, options={"qmin": str(QUANTISER), "qmax": str(QUANTISER)})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuvj420p"
        stream.codec_context.thread_count = 1
        for index, frame in enumerate(frames):
            # In the encoder's pix_fmt: Y is the gray, Cb = Cr = 128.
            picture = frame.reformat(format="yuvj420p")
            # A decoded frame keeps the demuxer's time base (1/1200000), which PyAV would rescale the pts from.
            picture.pts, picture.time_base = index, stream.codec_context.time_base
            output.mux(stream.encode(picture))
        output.mux(stream.encode(None))
    return buffer.getvalue()


def handle(request: bytes) -> bytes:
    if not request.startswith(b"\xff\xd8"):
        raise ValueError("the request must be a Motion JPEG stream (JPEG frames back to back, starting with FF D8)")
    gray = _decode_gray(request)
    if not gray:
        raise ValueError("the request holds no decodable JPEG frame")
    return _encode(gray, gray[0].width, gray[0].height)
