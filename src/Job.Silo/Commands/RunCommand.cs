using System.CommandLine;
using Job.Silo.Embedded;
using Job.Silo.Samples;
using Job.Worker;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Job.Silo.Commands;

/// <summary>
/// <c>run</c> (the default verb): a Job worker (<see cref="JobWorkerHostBuilderExtensions.AddJobWorker"/>)
/// with the demo job types, on the configured database or, when none is configured, on an embedded
/// PostgreSQL. Runs until SIGTERM or Ctrl-C, then stops gracefully.
/// </summary>
internal sealed class RunCommand : Command
{
    private readonly Action<IServiceCollection>? _configureServices;

    /// <param name="configureServices">More services after the demo job types (tests add theirs), or null.</param>
    public RunCommand(Action<IServiceCollection>? configureServices = null)
        : base("run", "start a silo (the default verb)")
    {
        _configureServices = configureServices;
        TreatUnmatchedTokensAsErrors = false;
        SetAction(InvokeAsync);
    }

    /// <summary>Runs the silo; also the action of the bare command line.</summary>
    public async Task<int> InvokeAsync(ParseResult result, CancellationToken cancellationToken)
    {
        using var signals = new ShutdownSignals();
        EmbeddedDatabase? embedded = null;
        WebApplication? app = null;
        try
        {
            var settings = SiloCommandLine.Settings(result);
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = Directory.GetCurrentDirectory() });
            builder.Configuration.AddJobWorkerSettings(result.UnmatchedTokens);
            var silo = SiloSettings.Read(builder.Configuration, settings.Keys);
            if (JobWorkerConfiguration.ConnectionString(builder.Configuration) is null)
            {
                embedded = await EmbeddedDatabase.StartAsync(silo, signals.Token).ConfigureAwait(false);
            }

            var embeddedConnectionString = embedded?.ConnectionString;
            builder.AddJobWorker(jobs =>
            {
                if (string.IsNullOrWhiteSpace(jobs.ConnectionString) && jobs.DataSource is null)
                {
                    jobs.ConnectionString = embeddedConnectionString;
                }
            });
            builder.Services.AddJobInitializer<HelloJob>();
            builder.Services.AddJobInitializer<FlakyJob>();
            builder.Services.AddJobInitializer<RecurringJob>();
            _configureServices?.Invoke(builder.Services);
            if (silo.DemoSpawnOnStart > 0)
            {
                builder.Services.AddHostedService(sp => ActivatorUtilities.CreateInstance<DemoSpawner>(sp, silo.DemoSpawnOnStart));
            }

            app = builder.Build();
            app.MapJobWorkerEndpoints();

            // From here the host's console lifetime owns Ctrl-C and SIGTERM (graceful stop).
            signals.Release();
            var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
            try
            {
                await app.StartAsync(lifetime.ApplicationStopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
            {
                await StopQuietlyAsync(app).ConfigureAwait(false);
                return SiloCommandLine.ExitOk;
            }

            await app.WaitForShutdownAsync(CancellationToken.None).ConfigureAwait(false);
            return SiloCommandLine.ExitOk;
        }
        catch (OperationCanceledException) when (signals.Token.IsCancellationRequested)
        {
            return SiloCommandLine.ExitOk;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            var code = SiloCommandLine.Fail(ex);
            if (app is not null)
            {
                await StopQuietlyAsync(app).ConfigureAwait(false);
            }

            return code;
        }
        finally
        {
            if (app is not null)
            {
                await app.DisposeAsync().ConfigureAwait(false);
            }

            if (embedded is not null)
            {
                await embedded.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task StopQuietlyAsync(WebApplication app)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Already reporting the start failure; a failing stop adds nothing the user can act on.
        }
    }
}
