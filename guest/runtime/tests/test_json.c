/* snapfn_json_get on well-formed, nested, escaped and malformed inputs. */
#include "test.h"

#include <string.h>

static void expect(const char *json, const char *key, const char *value)
{
    char out[64];
    memset(out, 'X', sizeof out);
    bool found = snapfn_json_get((const uint8_t *)json, strlen(json), key, out, sizeof out);
    if (value)
        CHECK(found && strcmp(out, value) == 0, "json_get(%s, \"%s\"): got %s \"%s\", want \"%s\"", json, key,
              found ? "found" : "absent", found ? out : "", value);
    else
        CHECK(!found, "json_get(%s, \"%s\"): got \"%s\", want absent", json, key, out);
}

void test_json(void)
{
    expect("{\"name\": \"Ada\"}", "name", "Ada");
    expect("{\"name\":\"Ada\"}", "name", "Ada");
    expect("  {\n\t\"name\" :\r\n \"Ada\" \n}  ", "name", "Ada");
    expect("{\"seed\": 3}", "seed", "3");
    expect("{\"seed\":-3.5e2,\"x\":1}", "seed", "-3.5e2");
    expect("{\"a\": 1, \"b\": 2}", "b", "2");
    expect("{\"a\": true, \"b\": null}", "a", "true");
    expect("{\"a\": true, \"b\": null}", "b", "null");
    expect("{\"a\": 1}", "b", NULL);
    expect("{}", "a", NULL);
    expect("", "a", NULL);
    expect("[\"a\", 1]", "a", NULL);
    expect("\"a\"", "a", NULL);
    expect("{\"a\" 1}", "a", NULL);
    expect("{\"a\": \"unterminated", "a", NULL);
    expect("{\"a\": 1, ", "b", NULL);
    /* escapes in values and keys */
    expect("{\"s\": \"a\\\"b\\\\c\\nd\\/e\\tf\"}", "s", "a\"b\\c\nd/e\tf");
    expect("{\"s\": \"\\u0041\\u00e9\\ud83d\\ude00!\"}", "s", "A?" "?!"); /* split: "??!" would be a trigraph */
    expect("{\"na\\u006de\": \"Ada\"}", "name", "Ada");
    expect("{\"n\\\"ame\": \"Ada\"}", "n\"ame", "Ada");
    expect("{\"s\": \"\\x\"}", "s", NULL);
    /* nested values are skipped whole; a key inside them does not match */
    expect("{\"outer\": {\"name\": \"inner\"}, \"name\": \"top\"}", "name", "top");
    expect("{\"outer\": {\"name\": \"inner\"}}", "name", NULL);
    expect("{\"list\": [1, {\"name\": \"x\"}, \"]}\", [[]]], \"name\": \"ok\"}", "name", "ok");
    expect("{\"o\": {\"a\": [1, 2]}}", "o", "{\"a\": [1, 2]}");
    expect("{\"s\": \"}\", \"t\": \"{\"}", "t", "{");
    /* keys that are prefixes of each other */
    expect("{\"names\": \"no\", \"name\": \"yes\"}", "name", "yes");
    expect("{\"nam\": \"no\", \"name\": \"yes\"}", "name", "yes");
    /* truncation to cap-1 bytes, always terminated */
    char small[4];
    bool found = snapfn_json_get((const uint8_t *)"{\"k\": \"abcdef\"}", 15, "k", small, sizeof small);
    CHECK(found && strcmp(small, "abc") == 0, "json_get truncates to cap-1: \"%s\"", small);
    found = snapfn_json_get((const uint8_t *)"{\"k\": 123456}", 13, "k", small, sizeof small);
    CHECK(found && strcmp(small, "123") == 0, "json_get truncates numbers: \"%s\"", small);
    /* the length bounds the scan: no reading past it */
    found = snapfn_json_get((const uint8_t *)"{\"k\": \"ab\"}", 9, "k", small, sizeof small);
    CHECK(!found, "json_get stops at len");
}
