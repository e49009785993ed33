using System.CommandLine;
using Job.Silo.Embedded;
using Job.Worker;
using Npgsql;

namespace Job.Silo.Commands;

/// <summary>
/// <c>migrate</c>: applies the missing database migrations (in one transaction under an advisory lock,
/// as a silo does at start) into the configured schema (<c>Jobs:Schema</c>) and prints their names;
/// <c>migrate --print</c> prints, without touching a database, exactly the script <c>migrate</c> runs
/// (<see cref="JobMigrations.Script"/>): applied by hand, it records itself, so the next start finds
/// nothing to do.
/// </summary>
internal sealed class MigrateCommand : Command
{
    private readonly Option<bool> _print = new("--print") { Description = "print the SQL of every migration instead (no database needed)" };

    public MigrateCommand()
        : base("migrate", "apply missing database migrations, print what was applied, and exit")
    {
        TreatUnmatchedTokensAsErrors = false;
        Options.Add(_print);
        SetAction(InvokeAsync);
    }

    private async Task<int> InvokeAsync(ParseResult result, CancellationToken cancellationToken)
    {
        using var signals = new ShutdownSignals();
        string? connectionString = null;
        try
        {
            var settings = SiloCommandLine.Settings(result);
            var configuration = SiloSettings.Build(settings);
            var silo = SiloSettings.Read(configuration, settings.Keys);
            var jobs = new JobsOptions();
            JobsConfigurationBinder.Bind(configuration.GetSection(JobsOptions.SectionName), jobs);
            var schema = new JobSchema(jobs.Schema);
            if (result.GetValue(_print))
            {
                await Console.Out.WriteAsync(JobMigrations.Script(schema)).ConfigureAwait(false);
                return SiloCommandLine.ExitOk;
            }

            connectionString = JobWorkerConfiguration.ConnectionString(configuration);
            await using var embedded = connectionString is null
                ? await EmbeddedDatabase.StartAsync(silo, signals.Token).ConfigureAwait(false)
                : null;
            connectionString ??= embedded!.ConnectionString;
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            var applied = await JobMigrations.RunAsync(dataSource, schema, signals.Token).ConfigureAwait(false);
            Console.Out.WriteLine(applied.Count == 0 ? "Database is up to date." : string.Join(Environment.NewLine, applied.Select(name => $"applied {name}")));
            return SiloCommandLine.ExitOk;
        }
        catch (OperationCanceledException) when (signals.Token.IsCancellationRequested)
        {
            // The migrations run in one transaction: nothing of them was applied.
            Console.Error.WriteLine("error: cancelled");
            return SiloCommandLine.ExitError;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return SiloCommandLine.Fail(ex, connectionString);
        }
    }
}
