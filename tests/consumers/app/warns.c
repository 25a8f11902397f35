/*
 * warns.c - part of a consumer project, not of runnel: code that -Wall
 * -Wextra would flag. It must compile in a parent project that did not ask
 * for -Werror; if runnel leaked its warning flags (or -Werror) into its
 * parent, this file would break the consumer build.
 */
int consumer_unused_parameter(int a, int b);
int consumer_unused_parameter(int a, int b)
{
    int unused;
    return a;
}
