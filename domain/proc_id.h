/* Who a process is, for the tables several processes of a host share in
 * /dev/shm (host_limits.h, host_metrics.h): a pid and its start time, so
 * that a slot whose process died, or whose pid was reused, can be told
 * from a live one. */
#ifndef AIGW_PROC_ID_H
#define AIGW_PROC_ID_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The process's start time (/proc/PID/stat field 22, clock ticks since
 * boot); 0 when it cannot be read. */
uint64_t proc_start_time(pid_t pid);
/* Whether pid is a live process that started at start (0: any start);
 * alive unless shown otherwise (no such pid, a zombie, another start). */
bool proc_alive(pid_t pid, uint64_t start);

#endif
