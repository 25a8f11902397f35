/*
 * bench_interleaved.h - the interleaved-streams part of bench_core
 * (bench_interleaved.c says what it measures).
 */
#ifndef BENCH_INTERLEAVED_H
#define BENCH_INTERLEAVED_H

/* Runs the workloads and prints the table (quick: 1 and 1,000 streams). */
void bench_interleaved_table(int quick);

#endif
