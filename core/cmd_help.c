/*
 * cmd_help.c - the one writer of "<CMD> HELP" replies (XINFO, XGROUP,
 * CLIENT, COMMAND, CONFIG, OBJECT).
 *
 * Redis 7.0.15 builds every such reply with addReplyHelp(): an array of
 * status lines that starts with "<CMD> <subcommand> [<arg> [value] [opt]
 * ...]. Subcommands are:", goes on with the command's own lines and ends
 * with "HELP" and "    Prints this help.". The frame lives here so that a
 * command only supplies its table of lines and the frame cannot drift from
 * Redis's in one command but not the others (the interop diff tests compare
 * every HELP reply with a real redis-server byte for byte).
 */
#include <string.h>

#include "cmd.h"

void runnel__cmd_reply_help(runnel_cmd_t *cmd, const char *name_upper, const char *const *lines,
                            size_t n)
{
    /* Redis formats the header from argv[0] upper-cased; the caller passes
     * the command's name, which is the same text whatever case was typed. */
    static const char tail[] = " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:";
    char head[32 + sizeof tail];
    size_t nl = strlen(name_upper);
    if (nl > 32)
        nl = 32;
    memcpy(head, name_upper, nl);
    memcpy(head + nl, tail, sizeof tail - 1);

    runnel_resp_array(cmd->w, n + 3);
    runnel_resp_simple(cmd->w, head, nl + sizeof tail - 1);
    for (size_t i = 0; i < n; i++)
        runnel_resp_simple(cmd->w, lines[i], strlen(lines[i]));
    runnel_resp_simple(cmd->w, "HELP", 4);
    runnel_resp_simple(cmd->w, "    Prints this help.", 21);
}
