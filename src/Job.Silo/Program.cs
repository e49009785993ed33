using Job.Silo.Cli;

// The runnable silo host: `run` (default), `migrate`, `migrate --print`, `--help`.
// Everything lives in SiloCli so that errors end as one line and a meaningful exit code.
return await SiloCli.RunAsync(args).ConfigureAwait(false);
