using Job.Silo.Commands;

// The runnable silo host: `run` (default), `migrate`, `migrate --print`, `--help`. Each verb is a
// command class in Commands/; SiloCommandLine maps every failure to one `error: …` line.
return await SiloCommandLine.RunAsync(args).ConfigureAwait(false);
