/* probes — the individual kernel feature probes behind `crisp check`. */
#ifndef CRISP_PROBES_H
#define CRISP_PROBES_H

#include "check.h"

void probe_ptrace(struct probe_result *r);
void probe_process_vm_readv(struct probe_result *r);
void probe_io_uring(struct probe_result *r);
void probe_pagemap_scan(struct probe_result *r);
void probe_guard_regions(struct probe_result *r);
void probe_uffd(struct probe_result *r);
void probe_uffd_noncoop(struct probe_result *r);
void probe_uffd_wp_async(struct probe_result *r);
void probe_uffd_wp_sync(struct probe_result *r);
void probe_soft_dirty(struct probe_result *r);
void probe_clone3_set_tid(struct probe_result *r);
void probe_pidfd(struct probe_result *r);
void probe_procmap_query(struct probe_result *r);
void probe_memfd(struct probe_result *r);
void probe_timens(struct probe_result *r);
void probe_bpf(struct probe_result *r);
void probe_prctl_mm_map(struct probe_result *r);

#endif
