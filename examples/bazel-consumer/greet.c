/* Exits 0 when argv[1] is "world" and GREETING is "hello"; says what it got either way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *greeting = getenv("GREETING");
    const char *who = argc > 1 ? argv[1] : "";
    printf("%s, %s\n", greeting ? greeting : "(no GREETING)", who);
    return greeting && strcmp(greeting, "hello") == 0 && strcmp(who, "world") == 0 ? 0 : 1;
}
