"""py-image: Pillow turns a JPEG a quarter turn clockwise and encodes it again as a JPEG (quality 85, 4:2:0).

Run by guest/python/snapfn_shim.py: init() once before the snapshot, handle() once per request.
"""

QUALITY = 85


def init():
    # Loaded before the snapshot point so that no request pays for them: Pillow's C core (_imaging), the
    # JPEG plugin, and libjpeg's encoder and decoder, which a tiny round trip pulls in.
    global io, Image
    import io

    from PIL import Image, JpegImagePlugin  # noqa: F401  (registers the JPEG format)

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (128, 64, 32)).save(buffer, format="JPEG", quality=QUALITY, subsampling="4:2:0")
    with Image.open(io.BytesIO(buffer.getvalue())) as probe:
        probe.load()


def handle(request: bytes) -> bytes:
    if not request.startswith(b"\xff\xd8"):
        raise ValueError("the request must be a JPEG file (it starts with FF D8)")
    with Image.open(io.BytesIO(request), formats=["JPEG"]) as image:
        # ROTATE_270 is counter-clockwise, so a quarter turn clockwise.
        turned = image.transpose(Image.Transpose.ROTATE_270)
    out = io.BytesIO()
    options = {"subsampling": "4:2:0"} if turned.mode != "L" else {}
    turned.save(out, format="JPEG", quality=QUALITY, **options)
    return out.getvalue()
