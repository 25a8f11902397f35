/*
 * log.c - log lines in Redis's format:
 *     pid:M dd Mon yyyy hh:mm:ss.mmm <level> message
 * where <level> is '.' debug, '-' verbose, '*' notice, '#' warning. Lines
 * go to the logfile when one is configured, else to stderr. SIGHUP re-opens
 * the logfile (rd_log_reopen), so logrotate can move it away.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "runneld.h"

static FILE *log_fp;
static int log_level = RD_LL_NOTICE;
static char log_path[RUNNELD_PATH_MAX];

void rd_log_open(const rd_config_t *cfg)
{
    log_level = cfg->loglevel;
    snprintf(log_path, sizeof log_path, "%s", cfg->logfile);
    if (log_path[0] != '\0') {
        FILE *f = fopen(log_path, "a");
        if (f != NULL) {
            log_fp = f;
            return;
        }
        fprintf(stderr, "Can't open the log file %s\n", log_path);
    }
    log_fp = NULL;
}

void rd_log_reopen(void)
{
    if (log_path[0] == '\0')
        return;   /* stderr: nothing to re-open */
    FILE *f = fopen(log_path, "a");
    if (f == NULL) {
        /* Keep writing to the old (possibly renamed) file rather than lose
         * lines; say so there. */
        rd_log(RD_LL_WARNING, "SIGHUP: can't re-open the log file %s: %s", log_path,
               strerror(errno));
        return;
    }
    if (log_fp != NULL)
        fclose(log_fp);
    log_fp = f;
    rd_log(RD_LL_NOTICE, "SIGHUP: log file %s re-opened", log_path);
}

void rd_log_set_level(int level)
{
    log_level = level;
}

void rd_log(int level, const char *fmt, ...)
{
    if (level < log_level || level >= RD_LL_NOTHING)
        return;
    static const char marks[] = ".-*#";
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    time_t secs = tv.tv_sec;
    localtime_r(&secs, &tm);
    char when[64];
    size_t n = strftime(when, sizeof when, "%d %b %Y %H:%M:%S.", &tm);
    snprintf(when + n, sizeof when - n, "%03d", (int)(tv.tv_usec / 1000));
    FILE *f = log_fp != NULL ? log_fp : stderr;
    fprintf(f, "%d:M %s %c %s\n", (int)getpid(), when, marks[level], msg);
    fflush(f);
}
