/* Hosted test build only: gives the runtime's libc-named functions an sf_ prefix, so that the test program can
 * link them next to glibc's and compare the two. Included (-include) into every runtime source compiled for the
 * test, and by the test itself before snapfn.h; unrename.h takes the names back for glibc's headers. */
#define malloc sf_malloc
#define calloc sf_calloc
#define realloc sf_realloc
#define free sf_free
#define xmalloc sf_xmalloc
#define memcpy sf_memcpy
#define memmove sf_memmove
#define memset sf_memset
#define memcmp sf_memcmp
#define strlen sf_strlen
#define strcmp sf_strcmp
#define strncmp sf_strncmp
#define strchr sf_strchr
#define strstr sf_strstr
#define strtol sf_strtol
#define strtod sf_strtod
#define snprintf sf_snprintf
#define vsnprintf sf_vsnprintf
#define fabs sf_fabs
#define floor sf_floor
#define ceil sf_ceil
#define round sf_round
#define sqrt sf_sqrt
#define exp sf_exp
#define log sf_log
#define pow sf_pow
#define sin sf_sin
#define cos sf_cos
#define tanh sf_tanh
#define fmin sf_fmin
#define fmax sf_fmax
#define expf sf_expf
#define sqrtf sf_sqrtf
