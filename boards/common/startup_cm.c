/*
 * startup_cm.c - reset-to-main for the QEMU Cortex-M boards (M0 and M3).
 *
 * Owns: the vector table, the C runtime set-up newlib expects (.data copied
 * from flash, .bss zeroed, semihosting handles opened, constructors run),
 * exit(main()) so main's return value becomes QEMU's exit status, and the
 * fault handler that turns any fault into exit status 99 with a one-line
 * report (fault kind, stacked PC, CFSR on ARMv7-M).
 *
 * It exists so a unit test is an ordinary `int main(void)` on the board as on
 * the host: ctest runs it under qemu-system-arm with semihosting and reads
 * the exit status. A hang is caught by ctest's TIMEOUT, a fault by this file.
 *
 * Heap: newlib's printf needs a little (its _sbrk grows from `end`, the top
 * of .bss, towards the stack). Tests themselves never malloc.
 */
#include <stdint.h>
#include <stdlib.h>

/* Linker script symbols (boards/qemu-<board>/link.ld). */
extern uint32_t __stack_top, __data_load, __data_start, __data_end;
extern uint32_t __bss_start__, __bss_end__;

extern int main(void);
extern void initialise_monitor_handles(void); /* librdimon */
extern void __libc_init_array(void);           /* newlib */

void Reset_Handler(void);
void Fault_Handler(void);
void SVC_Handler(void);
void Default_Handler(void);
void fault_report(const uint32_t *frame, uint32_t kind);
void fault_entry(const uint32_t *frame);
void _init(void);
void _fini(void);

#define SEMIHOST_SYS_WRITE0        0x04u
#define SEMIHOST_SYS_EXIT_EXTENDED 0x20u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

/* System control block registers we touch. */
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define SCB_CCR  (*(volatile uint32_t *)0xE000ED14u)
#define SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)
#define SCB_CCR_UNALIGN_TRP (1u << 3)
#define SCB_CCR_DIV_0_TRP   (1u << 4)

/* A semihosting call: r0 = operation, r1 = argument block. QEMU's
 * -semihosting-config target=native answers it on the host. */
static uint32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void semihost_puts(const char *s)
{
    semihost(SEMIHOST_SYS_WRITE0, s);
}

/* SYS_EXIT_EXTENDED carries a full exit code (plain SYS_EXIT only says
 * "success" or "failure"). QEMU exits with that code. */
static void __attribute__((noreturn)) semihost_exit(int code)
{
    uint32_t block[2] = { ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code };
    semihost(SEMIHOST_SYS_EXIT_EXTENDED, block);
    for (;;) {
    }
}

/* Writes "name=0x%08x " into out (at least 20 bytes) without printf: the
 * fault path must not depend on the C library's state. */
static char *put_hex(char *out, const char *name, uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    while (*name)
        *out++ = *name++;
    *out++ = '=';
    *out++ = '0';
    *out++ = 'x';
    for (int shift = 28; shift >= 0; shift -= 4)
        *out++ = digits[(v >> shift) & 0xfu];
    *out++ = ' ';
    return out;
}

/* Called from the fault entry stubs with the exception stack frame
 * (r0 r1 r2 r3 r12 lr pc xpsr). Prints what happened and where, then exits
 * with 99 so ctest shows the test failed rather than timing out. */
void fault_report(const uint32_t *frame, uint32_t kind)
{
    char line[160];
    char *p = line;
    p = put_hex(p, "FAULT kind", kind);
    p = put_hex(p, "pc", frame[6]);
    p = put_hex(p, "lr", frame[5]);
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__)
    p = put_hex(p, "cfsr", SCB_CFSR);
    p = put_hex(p, "hfsr", SCB_HFSR);
#endif
    *p++ = '\n';
    *p = '\0';
    semihost_puts(line);
    semihost_exit(99);
}

/* Every fault lands here. The active exception number (ICSR[8:0]) tells
 * which one: 2 NMI, 3 HardFault, 4 MemManage, 5 BusFault, 6 UsageFault
 * (UsageFault with CFSR bit 24 set = unaligned access; without UsageFault
 * enabled it escalates to HardFault, with the same CFSR bit). We only run
 * on the main stack, so MSP points at the stacked frame. Thumb-1 friendly:
 * the stub only hands MSP to C. */
__attribute__((naked)) void Fault_Handler(void)
{
    __asm__ volatile(
        "mrs r0, msp\n"
        "ldr r2, =fault_entry\n"
        "bx r2\n");
}

void fault_entry(const uint32_t *frame)
{
    fault_report(frame, SCB_ICSR & 0x1ffu);
}

/* The `svc 0` after setting UNALIGN_TRP lands here: QEMU re-reads CCR only
 * on an exception return, so this empty round trip arms the trap. */
void SVC_Handler(void)
{
}

void Default_Handler(void)
{
    static const uint32_t no_frame[8];
    fault_report(no_frame, SCB_ICSR & 0x1ffu);
}

void Reset_Handler(void)
{
    uint32_t *src = &__data_load;
    uint32_t *dst = &__data_start;
    while (dst < &__data_end)
        *dst++ = *src++;
    for (dst = &__bss_start__; dst < &__bss_end__;)
        *dst++ = 0;

#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__)
    /* ARMv7-M does unaligned LDR/STR silently; a Cortex-M0 faults on them.
     * Make the M3 fault too (and on divide by zero), so the tests here catch
     * what would crash the smaller part. */
    SCB_CCR |= SCB_CCR_UNALIGN_TRP | SCB_CCR_DIV_0_TRP;
    __asm__ volatile("dsb\n isb\n svc 0\n" ::: "memory");
#endif

    initialise_monitor_handles();
    __libc_init_array();
    exit(main());
}

/* With -nostartfiles there is no crti.o/crtn.o; __libc_init_array still
 * calls these. */
void _init(void)
{
}

void _fini(void)
{
}

typedef void (*vector_fn)(void);

/* Core exceptions only: no peripheral interrupt is enabled on these boards. */
__attribute__((section(".isr_vector"), used))
const vector_fn runnel_vectors[16] = {
    (vector_fn)(uintptr_t)&__stack_top,
    Reset_Handler,
    Fault_Handler,   /* NMI */
    Fault_Handler,   /* HardFault */
    Fault_Handler,   /* MemManage */
    Fault_Handler,   /* BusFault */
    Fault_Handler,   /* UsageFault */
    0, 0, 0, 0,
    SVC_Handler,
    Default_Handler, /* DebugMon */
    0,
    Default_Handler, /* PendSV */
    Default_Handler, /* SysTick */
};
