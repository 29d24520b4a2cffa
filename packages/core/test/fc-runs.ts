/** Number of fast-check runs per property; raise it with SANSWS_FC_RUNS for a longer soak. */
export const runs = Number(process.env.SANSWS_FC_RUNS ?? 1000);
