/* batch — a blob run inside a seized task by engine/infect: it makes every
 * system call of the table it is given (pie/batch.h), in order, stores each
 * result, then stops at pie_batch_trap (int3) for the engine to read them.
 * It owns no data and touches no memory but the table and its stack.
 */
#include "batch.h"
#include "syscall.h"

/* The entry: called with the table in rdi and a stack in the scratch
 * mapping; never returns (the engine puts the thread back where it was). */
__attribute__((section(".text.pie_entry"), noreturn))
void pie_batch_main(struct pie_batch_table *t);
void pie_batch_main(struct pie_batch_table *t)
{
	for (uint32_t i = 0; i < t->nr_entries; i++) {
		struct pie_batch_entry *e = &t->e[i];

		e->ret = pie_syscall6((long)e->nr, (long)e->args[0], (long)e->args[1],
				      (long)e->args[2], (long)e->args[3], (long)e->args[4],
				      (long)e->args[5]);
		t->nr_done = i + 1;
	}
	/* the engine waits for the SIGTRAP of this int3; should the thread be
	 * resumed here anyway, it traps again rather than run off */
	__asm__ volatile("pie_batch_trap:\n\tint3\n\tjmp pie_batch_trap" ::: "memory");
	__builtin_unreachable();
}
