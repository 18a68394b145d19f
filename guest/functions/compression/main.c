/* compression: the paper's gzip workload — compress the request's bytes into a gzip file in memory, with the
 * runtime's deflate (LZ77 + Huffman) at the default level 6.
 *
 * Input: any bytes. Output: one gzip member (RFC 1952: no file name, modification time 0), which `gzip -d`
 * or .NET's GZipStream turns back into the input. */
#include "snapfn.h"
#include "snapfn_deflate.h"

void snapfn_init(void)
{
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    size_t len;
    const char *err = snapfn_gzip(in, in_len, SNAPFN_DEFLATE_DEFAULT_LEVEL, out, out_cap, &len);
    if (err)
        snapfn_abort("compression: gzip of %zu bytes failed: %s", in_len, err);
    return len;
}
