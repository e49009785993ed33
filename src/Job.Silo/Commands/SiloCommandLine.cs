using System.CommandLine;
using System.CommandLine.Help;
using System.Text.RegularExpressions;
using Job.Worker;

namespace Job.Silo.Commands;

/// <summary>
/// The command line: verbs are System.CommandLine commands (one class each in this folder), settings
/// are <c>--Key=Value</c> tokens around them, read strictly by <see cref="JobWorkerSettings"/>. Every
/// failure ends as one <c>error: …</c> line on stderr: exit code 2 for a malformed command line, 1
/// for anything else. No message shows a setting's value.
/// </summary>
internal static partial class SiloCommandLine
{
    public const int ExitOk = 0;
    public const int ExitError = 1;
    public const int ExitUsage = 2;

    private const string ShortUsage = "Usage: Job.Silo [run | migrate [--print] | list | show | retry | cancel | delete | pause | resume | stats | schedules ...] [--Key=Value ...]   (--help lists the verbs and settings)";

    private const string Description = """
        A Job worker silo with demo job types (demo.hello, demo.flaky, demo.recurring).

          Job.Silo [run] [--Key=Value ...]        start a silo (run is the default verb)
          Job.Silo migrate [--Key=Value ...]      apply missing database migrations and exit
          Job.Silo migrate --print                print the SQL of every migration (no database needed)

        Operator verbs (on the database of ConnectionStrings:Jobs; no silo starts; --json for scripts;
        exit 0 done, 1 failed, 2 bad command line or definition, 3 no such job or schedule, 4 the job's state forbids it):
          Job.Silo list [--state S] [--type T] [--queue Q] [--id-prefix HEX] [--from T] [--to T] [--limit N] [--after CURSOR]
          Job.Silo show ID                        a job: state, attempt, next run, queue, config, history
          Job.Silo retry|cancel|delete ID...      or a filter (the options of list) or --all; --actor NAME
          Job.Silo pause|resume TYPE              stop or restart claims of a type, cluster-wide
          Job.Silo stats                          counts by state and type, oldest due job, silos
          Job.Silo schedules list | show NAME     recurring schedules; show lists the recent ticks and their jobs
          Job.Silo schedules set NAME --type T --cron "EXPR" [--time-zone TZ] [--config JSON]
                   [--misfire skip|run-once|catch-up:N] [--overlap skip|queue|allow]   create, or change (omitted options keep)
          Job.Silo schedules pause|resume|remove|reset NAME   [--actor NAME]

        Settings are configuration keys: --Key=Value on the command line, environment variables (':' written
        as '__', e.g. ConnectionStrings__Jobs, Orleans__SiloPort), or an appsettings.json in the working
        directory. Durations carry their unit: 500ms, 5s, 2m, 1h, 7d or 00:00:05. A key a section does not
        have is an error naming it.
          ConnectionStrings:Jobs   PostgreSQL connection string (or Jobs:ConnectionString); unset = embedded PostgreSQL
          Orleans:ClusterId (job)  Orleans:ServiceId (job)  Orleans:SiloPort (11111)  Orleans:GatewayPort (30000)
          Orleans:AdvertisedIP     address other silos use (auto: the route to the database; not loopback listens on all interfaces)
          Jobs:MaxJobsPerProcess (50)  Jobs:MinJobsPerProcess (30)  Jobs:ShutdownTimeout (5s)  Jobs:JobLostInterval (5m)
          Jobs:MaxPollInterval (5s)  Jobs:HistoryRetention (unset = keep)  Jobs:MembershipProbeTimeout (3s)
          Jobs:MembershipPauseTolerance (12s)  Jobs:MaxConfigBytes  Jobs:ExecMigrations
          Health:Port (8080; 0 = a free port)  Health:Address (loopback when Orleans:AdvertisedIP is loopback)
          Metrics:Prometheus (true: GET /metrics)  Otlp:Endpoint (unset = no OTLP export)  Otlp:Protocol (grpc)
          Dashboard:Port (unset = no dashboard)  Dashboard:Address (127.0.0.1; loopback only)  Dashboard:AllowActions (false)
          Embedded:DataDirectory (.local/pg)  Embedded:Port (0 = a free port)
          Demo:SpawnOnStart        spawn N demo.hello jobs (+ demo.flaky, demo.recurring) at start (0)
        """;

    /// <summary>Runs the command line and returns the process exit code.</summary>
    public static Task<int> RunAsync(string[] args) => RunAsync(args, configureServices: null);

    /// <summary>
    /// As <see cref="RunAsync(string[])"/>, with <paramref name="configureServices"/> adding to the
    /// <c>run</c> verb's services after the demo job types: how the crash tests run this very program,
    /// settings and all, with their own job types beside the demo's (tests/Job.TestSilo).
    /// </summary>
    public static async Task<int> RunAsync(string[] args, Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? configureServices)
    {
        var run = new RunCommand(configureServices);
        var root = new RootCommand(Description) { TreatUnmatchedTokensAsErrors = false };
        root.Directives.Clear();
        root.Subcommands.Add(run);
        root.Subcommands.Add(new MigrateCommand());
        foreach (var verb in AdminCommands.All())
        {
            root.Subcommands.Add(verb);
        }
        root.SetAction(run.InvokeAsync);

        // No response files: an argument starting with '@' is a setting's value, not a file to read.
        var result = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        var invocation = new InvocationConfiguration
        {
            // The host handles SIGTERM/Ctrl-C itself (graceful shutdown); System.CommandLine must not kill it.
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
        };
        if (result.Action is HelpAction || result.Errors.Count == 0 && IsVersion(result))
        {
            return await result.InvokeAsync(invocation).ConfigureAwait(false);
        }

        if (result.Errors.Count > 0)
        {
            return Usage(GroupProblem(result) ?? Hide(result.Errors[0].Message));
        }

        if (UsageProblem(args, result) is { } problem)
        {
            return Usage(problem);
        }

        return await result.InvokeAsync(invocation).ConfigureAwait(false);
    }

    /// <summary>The settings given on the command line (every token no verb or option took).</summary>
    public static IReadOnlyDictionary<string, string?> Settings(ParseResult result) => JobWorkerSettings.Parse(result.UnmatchedTokens);

    /// <summary>Prints a start or run failure as one line and returns exit code 1.</summary>
    public static int Fail(Exception exception, string? connectionString = null)
    {
        Console.Error.WriteLine($"error: {JobWorkerErrors.Describe(exception, connectionString)}");
        return ExitError;
    }

    private static bool IsVersion(ParseResult result) => result.Tokens.Any(t => t.Value == "--version");

    private static string? UsageProblem(string[] args, ParseResult result)
    {
        var unmatched = result.UnmatchedTokens;
        if (unmatched.Count > 0 && args.Length > 0 && unmatched[0] == args[0] && VerbPattern().IsMatch(args[0]))
        {
            return $"unknown verb '{args[0]}'";
        }

        if (unmatched.Contains("--print"))
        {
            return "--print belongs to the migrate verb";
        }

        try
        {
            _ = JobWorkerSettings.Parse(unmatched);
            return null;
        }
        catch (JobWorkerUsageException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>A verb group (<c>schedules</c>) without one of its verbs: name the verbs it has.</summary>
    private static string? GroupProblem(ParseResult result)
    {
        var command = result.CommandResult.Command;
        if (command is RootCommand || command.Subcommands.Count == 0 || command.Action is not null)
        {
            return null;
        }

        var verbs = string.Join(", ", command.Subcommands.Select(c => c.Name));
        return result.UnmatchedTokens.FirstOrDefault() is { } token && VerbPattern().IsMatch(token)
            ? $"unknown {command.Name} verb '{token}' (one of {verbs})"
            : $"{command.Name} needs a verb: {verbs}";
    }

    private static int Usage(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        Console.Error.WriteLine(ShortUsage);
        return ExitUsage;
    }

    /// <summary>System.CommandLine quotes the tokens it could not use; a token with '=' or ';' may be a secret.</summary>
    private static string Hide(string message) => QuotedValue().Replace(message, "'…'");

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9-]{0,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex VerbPattern();

    [GeneratedRegex("'[^']*[=;][^']*'", RegexOptions.CultureInvariant)]
    private static partial Regex QuotedValue();
}
