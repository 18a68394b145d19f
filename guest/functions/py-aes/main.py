"""py-aes: the FunctionBench pyaes workload. init() imports pyaes (AES in pure Python) and expands the AES-256
key; every request encrypts the input with AES-256-CTR and decrypts the ciphertext again.

Input: any bytes. Output: {"bytes":N,"roundtrip":true,"ciphertext":"<2N hex digits>"} (README.md gives the key
and counter).
"""

KEY = bytes(range(0x00, 0x20))  # 00 01 02 ... 1f
INITIAL_COUNTER = int.from_bytes(bytes(range(0xF0, 0x100)), "big")  # the block f0 f1 ... ff

schedule = None


def init():
    global pyaes, schedule
    import pyaes

    schedule = pyaes.AES(KEY)


def ctr():
    """pyaes's CTR mode over the key schedule init() built: its constructor would expand the key again, so the
    three fields it sets are set here (pyaes 1.6's names)."""
    mode = pyaes.AESModeOfOperationCTR.__new__(pyaes.AESModeOfOperationCTR)
    mode._aes = schedule
    mode._counter = pyaes.Counter(initial_value=INITIAL_COUNTER)
    mode._remaining_counter = []
    return mode


def handle(request: bytes) -> bytes:
    ciphertext = ctr().encrypt(request)
    roundtrip = ctr().decrypt(ciphertext) == request
    if not roundtrip:
        raise RuntimeError("decrypting the ciphertext did not give the input back")
    return f'{{"bytes":{len(request)},"roundtrip":true,"ciphertext":"{ciphertext.hex()}"}}'.encode()
