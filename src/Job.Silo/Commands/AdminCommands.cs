using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Job.Common;
using Job.Worker;

namespace Job.Silo.Commands;

/// <summary>
/// The operator's verbs, on <see cref="JobAdmin"/> over the configured database (no silo starts):
/// <c>list</c>, <c>show</c>, <c>retry</c>, <c>cancel</c>, <c>delete</c>, <c>pause</c>, <c>resume</c>,
/// <c>stats</c>, and the <c>schedules</c> group on <see cref="JobSchedules"/>. Tables by default,
/// <c>--json</c> for scripts. Exit codes: 0 done, 1 failed (the database, …), 2 a malformed command
/// line (or a definition the API refuses: a bad cron expression, time zone, name or config), 3 no such
/// job or schedule, 4 the job's state forbids the operation. Every error is one line; none shows the
/// connection string.
/// </summary>
internal static partial class AdminCommands
{
    public const int ExitNotFound = 3;
    public const int ExitConflict = 4;

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase), new JobIdConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static IEnumerable<Command> All()
    {
        yield return new ListCommand();
        yield return new ShowCommand();
        yield return new BulkCommand("retry", "retry jobs now: errored or cancelled ones from attempt 1, waiting ones due now");
        yield return new BulkCommand("cancel", "cancel jobs: waiting ones end cancelled, running ones are asked to stop");
        yield return new BulkCommand("delete", "delete finished jobs with their history");
        yield return new PauseCommand("pause", "pause a job type cluster-wide: no silo claims its jobs; running ones finish");
        yield return new PauseCommand("resume", "let the silos claim a paused type's jobs again");
        yield return new StatsCommand();
        yield return new SchedulesCommand();
    }

    /// <summary>The options every verb that filters jobs shares.</summary>
    private sealed class FilterOptions
    {
        public Option<string?> State { get; } = new("--state") { Description = "pending, scheduled, running, completed, errored or cancelled" };
        public Option<string?> Type { get; } = new("--type") { Description = "a job type" };
        public Option<string?> Queue { get; } = new("--queue") { Description = "a serial queue id" };
        public Option<string?> IdPrefix { get; } = new("--id-prefix") { Description = "ids starting with these hex digits" };
        public Option<DateTimeOffset?> From { get; } = new("--from") { Description = "list time (created, due or finished) at or after this (UTC unless an offset is given)" };
        public Option<DateTimeOffset?> To { get; } = new("--to") { Description = "list time before this" };

        public void AddTo(Command command)
        {
            command.Options.Add(State);
            command.Options.Add(Type);
            command.Options.Add(Queue);
            command.Options.Add(IdPrefix);
            command.Options.Add(From);
            command.Options.Add(To);
        }

        public JobFilter Read(ParseResult result) => new()
        {
            State = ParseState(result.GetValue(State)),
            JobType = result.GetValue(Type),
            QueueId = result.GetValue(Queue),
            IdPrefix = result.GetValue(IdPrefix),
            From = result.GetValue(From),
            To = result.GetValue(To),
        };

        public bool AnyGiven(ParseResult result) =>
            result.GetValue(State) is not null || result.GetValue(Type) is not null || result.GetValue(Queue) is not null
            || result.GetValue(IdPrefix) is not null || result.GetValue(From) is not null || result.GetValue(To) is not null;
    }

    private abstract class AdminCommand : Command
    {
        protected AdminCommand(string name, string description)
            : base(name, description)
        {
            TreatUnmatchedTokensAsErrors = false;
            Options.Add(Json);
            SetAction(InvokeAsync);
        }

        protected Option<bool> Json { get; } = new("--json") { Description = "print JSON instead of a table" };

        protected abstract Task<int> RunAsync(ParseResult result, JobClient client, TextWriter output, CancellationToken ct);

        private async Task<int> InvokeAsync(ParseResult result, CancellationToken cancellationToken)
        {
            string? connectionString = null;
            try
            {
                var settings = SiloCommandLine.Settings(result);
                var configuration = SiloSettings.Build(settings);
                _ = SiloSettings.Read(configuration, settings.Keys);
                connectionString = JobWorkerConfiguration.ConnectionString(configuration)
                    ?? throw new JobsConfigurationException("No database: set ConnectionStrings:Jobs (--ConnectionStrings:Jobs=… or the environment variable ConnectionStrings__Jobs).");
                var jobs = new JobsOptions();
                JobsConfigurationBinder.Bind(configuration.GetSection(JobsOptions.SectionName), jobs);
                await using var client = JobClient.Create(new JobClientOptions { ConnectionString = connectionString, Schema = jobs.Schema });
                return await RunAsync(result, client, Console.Out, cancellationToken).ConfigureAwait(false);
            }
            catch (JobNotFoundException ex)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                return ExitNotFound;
            }
            catch (JobScheduleNotFoundException ex)
            {
                // The API's message points at JobSchedules.ListAsync; an operator has the verb.
                Console.Error.WriteLine($"error: No schedule named '{ex.Name}' exists (schedules list shows those that do).");
                return ExitNotFound;
            }
            catch (JobStateConflictException ex)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                return ExitConflict;
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidJobTypeException or InvalidJobScheduleException or InvalidJobConfigException)
            {
                Console.Error.WriteLine($"error: {InputErrorText.Of(ex)}");
                return SiloCommandLine.ExitUsage;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Console.Error.WriteLine("error: cancelled");
                return SiloCommandLine.ExitError;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                return SiloCommandLine.Fail(ex, connectionString);
            }
        }

        protected static void WriteJson<T>(TextWriter output, T value) => output.WriteLine(JsonSerializer.Serialize(value, s_json));

        protected static string Actor(ParseResult result, Option<string?> actor) =>
            result.GetValue(actor) ?? $"{Environment.UserName}@{Environment.MachineName} (cli)";
    }

    private sealed class ListCommand : AdminCommand
    {
        private readonly FilterOptions _filter = new();
        private readonly Option<string?> _sort = new("--sort") { Description = "created, due or finished (default: the state's natural order)" };
        private readonly Option<bool> _oldest = new("--oldest-first") { Description = "oldest (or earliest due) first" };
        private readonly Option<int> _limit = new("--limit") { Description = $"jobs per page, 1 to {JobListQuery.MaxPageSize} (50)", DefaultValueFactory = _ => 50 };
        private readonly Option<string?> _after = new("--after") { Description = "the cursor a previous page printed, for the next page" };

        public ListCommand()
            : base("list", "list jobs, newest first, a page at a time")
        {
            _filter.AddTo(this);
            Options.Add(_sort);
            Options.Add(_oldest);
            Options.Add(_limit);
            Options.Add(_after);
        }

        protected override async Task<int> RunAsync(ParseResult result, JobClient client, TextWriter output, CancellationToken ct)
        {
            var page = await client.Admin.ListAsync(new JobListQuery
            {
                Filter = _filter.Read(result),
                Sort = result.GetValue(_sort) switch
                {
                    null => JobSort.Default,
                    "created" => JobSort.CreatedAt,
                    "due" => JobSort.DueAt,
                    "finished" => JobSort.FinishedAt,
                    var other => throw new ArgumentException($"--sort takes created, due or finished, not '{other}'."),
                },
                Descending = !result.GetValue(_oldest),
                PageSize = result.GetValue(_limit),
                Cursor = result.GetValue(_after),
            }, ct).ConfigureAwait(false);
            if (result.GetValue(Json))
            {
                WriteJson(output, page);
                return SiloCommandLine.ExitOk;
            }

            var time = page.Sort switch
            {
                JobSort.FinishedAt => "FINISHED",
                JobSort.DueAt => "DUE",
                _ => "CREATED",
            };
            Table(output, ["ID", "TYPE", "STATE", "ATTEMPT", "QUEUE", time, "LAST ERROR"], page.Jobs.Select(j => new[]
            {
                j.Id.ToString(), j.JobType, j.Parked ? "parked" : JobStateNames.Name(j.Status), j.Attempt?.ToString(CultureInfo.InvariantCulture) ?? "-", j.QueueId ?? "-",
                Time(page.Sort switch { JobSort.FinishedAt => j.FinishedAt, JobSort.DueAt => j.DueAt, _ => j.CreatedAt }),
                OneLine(j.LastError, 60),
            }));
            output.WriteLine(page.NextCursor is { } next ? $"more: --after {next}" : $"{page.Jobs.Count} job(s)");
            return SiloCommandLine.ExitOk;
        }
    }

    private sealed class ShowCommand : AdminCommand
    {
        private readonly Argument<string> _id = new("id") { Description = "the job's id" };
        private readonly Option<int> _events = new("--events") { Description = $"the newest events of its history to show, 1 to {JobHistoryWindow.MaxLimit} (100)", DefaultValueFactory = _ => 100 };
        private readonly Option<long?> _before = new("--before") { Description = "show the events older than this event number (#)" };

        public ShowCommand()
            : base("show", "show a job: state, attempt, next run, queue, config and history")
        {
            Arguments.Add(_id);
            Options.Add(_events);
            Options.Add(_before);
        }

        protected override async Task<int> RunAsync(ParseResult result, JobClient client, TextWriter output, CancellationToken ct)
        {
            var window = new JobHistoryWindow(result.GetValue(_events), result.GetValue(_before));
            var details = await client.Admin.GetAsync(JobId.Parse(result.GetValue(_id)!), window, ct).ConfigureAwait(false);
            if (result.GetValue(Json))
            {
                WriteJson(output, details);
                return SiloCommandLine.ExitOk;
            }

            var s = details.Snapshot;
            Table(output, ["FIELD", "VALUE"], new[]
            {
                new[] { "id", s.Id.ToString() }, ["type", s.JobType], ["state", details.Parked ? "parked (pending)" : JobStateNames.Name(s.Status)],
                ["attempt", (s.IsTerminal ? JobHistoryText.EndedInAttempt(details.History) : s.Attempt)?.ToString(CultureInfo.InvariantCulture) ?? "-"], ["next run", Time(s.NextRunAt)],
                ["queue", s.QueueId ?? "-"], ["priority", details.Priority.ToString(CultureInfo.InvariantCulture)], ["created", Time(s.CreatedAt)],
                ["finished", Time(s.FinishedAt)], ["running on", details.ClaimedBy ?? "-"], ["trace parent", details.TraceParent ?? "-"],
                ["last error", OneLine(s.LastError, 200)], ["config", OneLine(s.ConfigJson, 200)],
            });
            output.WriteLine();
            Table(output, ["#", "WHEN", "EVENT", "ATTEMPT", "DETAIL"], details.History.Select(e => new[]
            {
                e.Sequence.ToString(CultureInfo.InvariantCulture), Time(e.RecordedAt), e.Type, e.Attempt?.ToString(CultureInfo.InvariantCulture) ?? "-",
                OneLine(string.Join("; ", new[] { e.ErrorType is null ? null : $"{e.ErrorType}: {e.ErrorMessage}", e.ErrorType is null ? e.ErrorMessage : null, e.Reason, JobHistoryText.By(e), e.ScheduledAt is { } at ? $"due {Time(at)}" : null }.Where(x => x is not null)), 120),
            }));
            if (details.EarlierHistory && details.History.Count > 0)
            {
                output.WriteLine($"{details.History.Count} of {details.HistoryTotal} events; older: --before {details.History[0].Sequence.ToString(CultureInfo.InvariantCulture)}");
            }

            // The newest failure as .NET printed it (stack trace, inner exceptions): what the table cuts to one line.
            if (details.History.LastOrDefault(e => e.ErrorDetail is not null) is { } failure)
            {
                output.WriteLine();
                output.WriteLine($"failure of event #{failure.Sequence.ToString(CultureInfo.InvariantCulture)} (attempt {failure.Attempt?.ToString(CultureInfo.InvariantCulture) ?? "-"}, {Time(failure.RecordedAt)}):");
                foreach (var line in failure.ErrorDetail!.Split('\n'))
                {
                    output.WriteLine("  " + line.TrimEnd('\r'));
                }
            }

            return SiloCommandLine.ExitOk;
        }
    }

    private sealed class BulkCommand : AdminCommand
    {
        private readonly string _verb;
        private readonly Argument<string[]> _ids = new("ids") { Description = "job ids (or use a filter)", Arity = ArgumentArity.ZeroOrMore };
        private readonly FilterOptions _filter = new();
        private readonly Option<bool> _all = new("--all") { Description = "every job (no filter): must be said" };
        private readonly Option<int> _limit = new("--limit") { Description = $"at most this many jobs for a filter (up to {JobAdmin.MaxBulk})", DefaultValueFactory = _ => JobAdmin.MaxBulk };
        private readonly Option<string?> _actor = new("--actor") { Description = "who acts, for the history (default user@host (cli))" };

        public BulkCommand(string verb, string description)
            : base(verb, description)
        {
            _verb = verb;
            Arguments.Add(_ids);
            _filter.AddTo(this);
            Options.Add(_all);
            Options.Add(_limit);
            Options.Add(_actor);
        }

        protected override async Task<int> RunAsync(ParseResult result, JobClient client, TextWriter output, CancellationToken ct)
        {
            var admin = client.Admin;
            var actor = Actor(result, _actor);
            var ids = (result.GetValue(_ids) ?? []).Select(JobId.Parse).ToList();
            var filtered = _filter.AnyGiven(result) || result.GetValue(_all);
            if (ids.Count > 0 && filtered)
            {
                throw new ArgumentException($"{_verb} takes job ids or a filter, not both.");
            }

            if (ids.Count == 1)
            {
                string message;
                switch (_verb)
                {
                    case "retry":
                        await admin.RetryAsync(ids[0], actor, ct).ConfigureAwait(false);
                        message = $"retried {ids[0]}";
                        break;
                    case "cancel":
                        message = await admin.CancelAsync(ids[0], actor, ct).ConfigureAwait(false) == JobCancelOutcome.CancelRequested
                            ? $"cancel requested for running job {ids[0]}: it ends cancelled when its run returns"
                            : $"cancelled {ids[0]}";
                        break;
                    default:
                        await admin.DeleteAsync(ids[0], actor, ct).ConfigureAwait(false);
                        message = $"deleted {ids[0]}";
                        break;
                }

                if (result.GetValue(Json))
                {
                    WriteJson(output, new { id = ids[0], done = _verb, message });
                }
                else
                {
                    output.WriteLine(message);
                }

                return SiloCommandLine.ExitOk;
            }

            if (ids.Count == 0 && !filtered)
            {
                throw new ArgumentException($"{_verb} needs job ids, a filter (--state, --type, --queue, --id-prefix, --from, --to) or --all.");
            }

            var bulk = ids.Count > 0
                ? _verb switch
                {
                    "retry" => await admin.RetryAsync(ids, actor, ct).ConfigureAwait(false),
                    "cancel" => await admin.CancelAsync(ids, actor, ct).ConfigureAwait(false),
                    _ => await admin.DeleteAsync(ids, actor, ct).ConfigureAwait(false),
                }
                : _verb switch
                {
                    "retry" => await admin.RetryAllAsync(_filter.Read(result), actor, result.GetValue(_limit), ct).ConfigureAwait(false),
                    "cancel" => await admin.CancelAllAsync(_filter.Read(result), actor, result.GetValue(_limit), ct).ConfigureAwait(false),
                    _ => await admin.DeleteAllAsync(_filter.Read(result), actor, result.GetValue(_limit), ct).ConfigureAwait(false),
                };
            if (result.GetValue(Json))
            {
                WriteJson(output, bulk);
            }
            else
            {
                output.WriteLine($"{_verb}: {bulk.Changed} changed, {bulk.Skipped} skipped for their state, {bulk.Missing} missing, of {bulk.Matched} matched{(bulk.More ? "; more match: run it again" : "")}");
            }

            return SiloCommandLine.ExitOk;
        }
    }

    private sealed class PauseCommand : AdminCommand
    {
        private readonly string _verb;
        private readonly Argument<string> _type = new("type") { Description = "the job type" };
        private readonly Option<string?> _actor = new("--actor") { Description = "who acts, kept with the type's settings" };

        public PauseCommand(string verb, string description)
            : base(verb, description)
        {
            _verb = verb;
            Arguments.Add(_type);
            Options.Add(_actor);
        }

        protected override async Task<int> RunAsync(ParseResult result, JobClient client, TextWriter output, CancellationToken ct)
        {
            var type = new JobType(result.GetValue(_type)!);
            var settings = _verb == "pause"
                ? await client.Admin.PauseAsync(type, Actor(result, _actor), ct).ConfigureAwait(false)
                : await client.Admin.ResumeAsync(type, Actor(result, _actor), ct).ConfigureAwait(false);
            if (result.GetValue(Json))
            {
                WriteJson(output, new { type = type.Name, paused = settings.Paused, updatedBy = settings.UpdatedBy, updatedAt = settings.UpdatedAt });
            }
            else
            {
                output.WriteLine(settings.Paused ? $"{type.Name} paused: no silo claims its jobs until resumed" : $"{type.Name} resumed");
            }

            return SiloCommandLine.ExitOk;
        }
    }

    private sealed class StatsCommand : AdminCommand
    {
        private static readonly JobStatus[] s_states = JobStateNames.Listed;

        public StatsCommand()
            : base("stats", "counts by state and type, the oldest due job's wait, the silos")
        {
        }

        protected override async Task<int> RunAsync(ParseResult result, JobClient client, TextWriter output, CancellationToken ct)
        {
            var counts = await client.Admin.CountAsync(ct).ConfigureAwait(false);
            var silos = await client.Admin.SilosAsync(ct).ConfigureAwait(false);
            var paused = (await client.Admin.TypeSettingsAsync(ct).ConfigureAwait(false)).Where(t => t.Paused).Select(t => t.JobType.Name).ToList();
            if (result.GetValue(Json))
            {
                WriteJson(output, new
                {
                    at = counts.At,
                    totals = s_states.ToDictionary(s => JobStateNames.Name(s), s => counts.Total(s)),
                    byType = counts.ByTypeAndState.GroupBy(c => c.JobType).ToDictionary(g => g.Key, g => g.ToDictionary(c => JobStateNames.Name(c.State), c => c.Count)),
                    oldestDueLagSeconds = counts.OldestDueLag.TotalSeconds,
                    pausedTypes = paused,
                    silos,
                });
                return SiloCommandLine.ExitOk;
            }

            var types = counts.ByTypeAndState.Select(c => c.JobType).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            var rows = types.Select(t => new[] { t + (paused.Contains(t) ? " (paused)" : "") }
                .Concat(s_states.Select(s => counts.ByTypeAndState.Where(c => c.JobType == t && c.State == s).Sum(c => c.Count).ToString("N0", CultureInfo.InvariantCulture)))
                .ToArray()).ToList();
            rows.Add(new[] { "TOTAL" }.Concat(s_states.Select(s => counts.Total(s).ToString("N0", CultureInfo.InvariantCulture))).ToArray());
            Table(output, ["TYPE", .. s_states.Select(s => JobStateNames.Name(s).ToUpperInvariant())], rows);
            output.WriteLine($"oldest due job waits {counts.OldestDueLag.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s; silos: {silos.Count(s => s.Status == "Active")} active of {silos.Count} listed");
            return SiloCommandLine.ExitOk;
        }
    }

    private static JobStatus? ParseState(string? state) =>
        state is null ? null
        : JobStateNames.TryParse(state, out var parsed) ? parsed
        : throw new ArgumentException($"--state takes {JobStateNames.All}, not '{state}'.");

    private static string Time(DateTimeOffset? at) => at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "-";

    private static string OneLine(string? text, int max)
    {
        if (text is null)
        {
            return "-";
        }

        var line = text.ReplaceLineEndings(" ");
        return line.Length <= max ? line : line[..(max - 1)] + "…";
    }

    private static void Table(TextWriter output, IReadOnlyList<string> headers, IEnumerable<string[]> rows)
    {
        var all = rows.ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => r[i].Length))).ToArray();
        var sb = new StringBuilder();
        void Line(IReadOnlyList<string> cells)
        {
            sb.Clear();
            for (var i = 0; i < cells.Count; i++)
            {
                sb.Append(i == cells.Count - 1 ? cells[i] : cells[i].PadRight(widths[i] + 2));
            }

            output.WriteLine(sb.ToString().TrimEnd());
        }

        Line(headers);
        foreach (var row in all)
        {
            Line(row);
        }
    }

    /// <summary>A job id as the plain UUID string scripts expect.</summary>
    private sealed class JobIdConverter : JsonConverter<JobId>
    {
        public override JobId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => JobId.Parse(reader.GetString()!);

        public override void Write(Utf8JsonWriter writer, JobId value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
    }
}
