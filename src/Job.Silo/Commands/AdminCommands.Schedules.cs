using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Job.Silo.Commands;

/// <summary>
/// The <c>schedules</c> verbs: recurring schedules changed at run time from a shell, through the public
/// <see cref="JobSchedules"/> API only, with the conventions of the other operator verbs (tables,
/// <c>--json</c>, exit codes, one error line).
/// </summary>
internal static partial class AdminCommands
{
    /// <summary>How many ticks <c>schedules show</c> lists unless told.</summary>
    private const int DefaultTicksShown = 20;

    /// <summary>The group: <c>schedules list|show|set|pause|resume|remove</c>. Without a sub-verb it is a usage error.</summary>
    private sealed class SchedulesCommand : Command
    {
        public SchedulesCommand()
            : base("schedules", "recurring schedules: list, show (with recent ticks), set (create or change), pause, resume, remove")
        {
            TreatUnmatchedTokensAsErrors = false;
            Subcommands.Add(new ScheduleListCommand());
            Subcommands.Add(new ScheduleShowCommand());
            Subcommands.Add(new ScheduleSetCommand());
            Subcommands.Add(new ScheduleStateCommand("pause", "pause a schedule: its ticks spawn no job until resumed; jobs of earlier ticks run on"));
            Subcommands.Add(new ScheduleStateCommand("resume", "let a paused schedule tick again, from its first tick after now"));
            Subcommands.Add(new ScheduleStateCommand("remove", "remove a schedule: no tick of it fires any more; jobs of earlier ticks run on"));
            Subcommands.Add(new ScheduleStateCommand("reset", "put a schedule declared in code back to its declaration (undoing set and remove; a pause stays)"));
        }
    }

    private sealed class ScheduleListCommand : AdminCommand
    {
        public ScheduleListCommand()
            : base("list", "list every schedule, by name")
        {
        }

        protected override async Task<int> RunAsync(ParseResult result, JobClient client, TextWriter output, CancellationToken ct)
        {
            var schedules = await client.Schedules.ListAsync(ct).ConfigureAwait(false);
            if (result.GetValue(Json))
            {
                WriteJson(output, new { schedules = schedules.Select(ScheduleView.Of) });
                return SiloCommandLine.ExitOk;
            }

            Table(output, ["NAME", "TYPE", "CRON", "TIME ZONE", "STATE", "NEXT TICK", "LAST TICK", "LAST JOB"], schedules.Select(s => new[]
            {
                s.Name, s.JobType.Name, s.Cron, s.TimeZone, StateOf(s), s.Paused ? "-" : Time(s.NextTick), Time(s.LastTick), s.LastJobId?.ToString() ?? "-",
            }));
            output.WriteLine($"{schedules.Count} schedule(s)");
            return SiloCommandLine.ExitOk;
        }
    }

    private sealed class ScheduleShowCommand : AdminCommand
    {
        private readonly Argument<string> _name = new("name") { Description = "the schedule's name" };
        private readonly Option<int> _ticks = new("--ticks") { Description = $"how many recent ticks to list, 1 to {JobSchedules.MaxTicksListed} ({DefaultTicksShown})", DefaultValueFactory = _ => DefaultTicksShown };

        public ScheduleShowCommand()
            : base("show", "show a schedule: its definition, state, next tick and recent ticks with their jobs")
        {
            Arguments.Add(_name);
            Options.Add(_ticks);
        }

        protected override async Task<int> RunAsync(ParseResult result, JobClient client, TextWriter output, CancellationToken ct)
        {
            var name = result.GetValue(_name)!;
            var limit = result.GetValue(_ticks);
            if (limit is < 1 or > JobSchedules.MaxTicksListed)
            {
                throw new ArgumentException($"--ticks takes 1 to {JobSchedules.MaxTicksListed}, not {limit}.");
            }

            var schedule = await client.Schedules.GetAsync(name, ct).ConfigureAwait(false) ?? throw new JobScheduleNotFoundException(name);
            var ticks = await client.Schedules.TicksAsync(name, limit, ct).ConfigureAwait(false);
            if (result.GetValue(Json))
            {
                WriteJson(output, new { schedule = ScheduleView.Of(schedule), ticks });
                return SiloCommandLine.ExitOk;
            }

            var s = schedule;
            Table(output, ["FIELD", "VALUE"], new[]
            {
                new[] { "name", s.Name }, ["type", s.JobType.Name], ["cron", s.Cron], ["time zone", s.TimeZone], ["state", StateOf(s)],
                ["next tick", s.Paused ? "- (paused)" : Time(s.NextTick)], ["last tick", Time(s.LastTick)], ["last job", s.LastJobId?.ToString() ?? "-"],
                ["misfire", MisfireName(s.Misfire)], ["misfire threshold", s.MisfireThreshold.ToString("c", CultureInfo.InvariantCulture)],
                ["overlap", OverlapName(s.Overlap)], ["priority", s.Priority.ToString(CultureInfo.InvariantCulture)], ["config", OneLine(s.ConfigJson, 200)],
                ["source", s.Source == JobScheduleSource.Code ? "code" : "run time"], ["declared in code", s.DeclaredInCode ? "yes" : "no"],
                ["created", Time(s.CreatedAt)], ["updated", Time(s.UpdatedAt)], ["updated by", s.UpdatedBy ?? "-"],
            });
            output.WriteLine();
            Table(output, ["TICK", "OUTCOME", "JOB", "RECORDED"], ticks.Select(t => new[]
            {
                Time(t.Tick), t.Outcome == JobScheduleTickOutcome.Spawned ? "spawned" : "skipped (previous tick's job had not ended)", t.JobId?.ToString() ?? "-", Time(t.RecordedAt),
            }));
            output.WriteLine($"{ticks.Count} recent tick(s)");
            return SiloCommandLine.ExitOk;
        }
    }

    /// <summary>
    /// <c>schedules set</c>: creates a schedule, or changes one. A new schedule needs <c>--type</c> and
    /// <c>--cron</c>; for an existing one every option left out keeps its current value (config and
    /// policies included), so changing the expression does not reset the config to nothing.
    /// </summary>
    private sealed class ScheduleSetCommand : AdminCommand
    {
        private readonly Argument<string> _name = new("name") { Description = "the schedule's name: letters, digits and - _ . : /" };
        private readonly Option<string?> _type = new("--type") { Description = "the job type its ticks spawn (required for a new schedule)" };
        private readonly Option<string?> _cron = new("--cron") { Description = "a cron expression: five fields, six with seconds first, or a macro such as @daily (required for a new schedule)" };
        private readonly Option<string?> _timeZone = new("--time-zone") { Description = "an IANA time zone such as Europe/Zurich (a new schedule: UTC)" };
        private readonly Option<string?> _config = new("--config") { Description = "every tick's job config, as JSON (a new schedule: {})" };
        private readonly Option<string?> _misfire = new("--misfire") { Description = "ticks missed while no silo ran: skip, run-once or catch-up:N (a new schedule: run-once)" };
        private readonly Option<string?> _overlap = new("--overlap") { Description = "a tick due while the previous tick's job runs: skip, queue or allow (a new schedule: skip)" };
        private readonly Option<string?> _actor = new("--actor") { Description = "who acts, kept with the schedule (default user@host (cli))" };

        public ScheduleSetCommand()
            : base("set", "create a schedule, or change one (options left out keep their current values)")
        {
            Arguments.Add(_name);
            Options.Add(_type);
            Options.Add(_cron);
            Options.Add(_timeZone);
            Options.Add(_config);
            Options.Add(_misfire);
            Options.Add(_overlap);
            Options.Add(_actor);
        }

        protected override async Task<int> RunAsync(ParseResult result, JobClient client, TextWriter output, CancellationToken ct)
        {
            var name = result.GetValue(_name)!;

            // Every option is checked before anything is read or written.
            var type = result.GetValue(_type) is { } typeName ? new JobType(typeName) : (JobType?)null;
            var cron = result.GetValue(_cron);
            var config = result.GetValue(_config) is { } configText ? ParseConfig(configText) : (JsonElement?)null;
            var misfire = ParseMisfire(result.GetValue(_misfire));
            var overlap = ParseOverlap(result.GetValue(_overlap));

            var existing = await client.Schedules.GetAsync(name, ct).ConfigureAwait(false);
            if (existing is null && (type is null || cron is null))
            {
                throw new ArgumentException($"There is no schedule '{name}' yet: create it with --type and --cron.");
            }

            var spec = new JobScheduleSpec<JsonElement>(name, type ?? existing!.JobType, cron ?? existing!.Cron, config ?? ParseConfig(existing?.ConfigJson ?? "{}"))
            {
                TimeZone = result.GetValue(_timeZone) ?? existing?.TimeZone ?? JobScheduleSpec<JsonElement>.Utc,
                Misfire = misfire ?? existing?.Misfire ?? JobMisfirePolicy.RunOnce,
                MisfireThreshold = existing?.MisfireThreshold ?? JobScheduleSpec<JsonElement>.DefaultMisfireThreshold,
                Overlap = overlap ?? existing?.Overlap ?? JobOverlapPolicy.Skip,
                Priority = existing?.Priority ?? 0,
            };
            var saved = await client.Schedules.SetAsync(spec, Actor(result, _actor), ct).ConfigureAwait(false);
            if (result.GetValue(Json))
            {
                WriteJson(output, ScheduleView.Of(saved));
            }
            else
            {
                output.WriteLine($"{saved.Name} {(existing is null ? "created" : "changed")}: {saved.JobType.Name} at \"{saved.Cron}\" in {saved.TimeZone}, "
                    + (saved.Paused ? "paused" : $"next tick {Time(saved.NextTick)}"));
            }

            return SiloCommandLine.ExitOk;
        }

        private static JsonElement ParseConfig(string json)
        {
            try
            {
                using var document = JsonDocument.Parse(json);
                return document.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new ArgumentException($"--config is not JSON: {ex.Message}");
            }
        }

        private static JobMisfirePolicy? ParseMisfire(string? text) => text switch
        {
            null => null,
            "skip" => JobMisfirePolicy.Skip,
            "run-once" => JobMisfirePolicy.RunOnce,
            _ when text.StartsWith("catch-up:", StringComparison.Ordinal)
                && int.TryParse(text.AsSpan("catch-up:".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var limit)
                && limit is >= 1 and <= JobMisfirePolicy.MaxCatchUp => JobMisfirePolicy.CatchUp(limit),
            _ => throw new ArgumentException($"--misfire takes skip, run-once or catch-up:N (N from 1 to {JobMisfirePolicy.MaxCatchUp}), not '{text}'."),
        };

        private static JobOverlapPolicy? ParseOverlap(string? text) => text switch
        {
            null => null,
            "skip" => JobOverlapPolicy.Skip,
            "queue" => JobOverlapPolicy.Queue,
            "allow" => JobOverlapPolicy.Allow,
            _ => throw new ArgumentException($"--overlap takes skip, queue or allow, not '{text}'."),
        };
    }

    /// <summary><c>schedules pause|resume|remove|reset NAME</c>.</summary>
    private sealed class ScheduleStateCommand : AdminCommand
    {
        private readonly string _verb;
        private readonly Argument<string> _name = new("name") { Description = "the schedule's name" };
        private readonly Option<string?> _actor = new("--actor") { Description = "who acts, kept with the schedule (default user@host (cli))" };

        public ScheduleStateCommand(string verb, string description)
            : base(verb, description)
        {
            _verb = verb;
            Arguments.Add(_name);
            Options.Add(_actor);
        }

        protected override async Task<int> RunAsync(ParseResult result, JobClient client, TextWriter output, CancellationToken ct)
        {
            var name = result.GetValue(_name)!;
            var actor = Actor(result, _actor);
            if (_verb == "remove")
            {
                if (!await client.Schedules.RemoveAsync(name, actor, ct).ConfigureAwait(false))
                {
                    throw new JobScheduleNotFoundException(name);
                }

                if (result.GetValue(Json))
                {
                    WriteJson(output, new { name, removed = true });
                }
                else
                {
                    output.WriteLine($"{name} removed: no tick of it fires any more; jobs of earlier ticks run on");
                }

                return SiloCommandLine.ExitOk;
            }

            var schedule = _verb switch
            {
                "pause" => await client.Schedules.PauseAsync(name, actor, ct).ConfigureAwait(false),
                "reset" => await client.Schedules.ResetAsync(name, actor, ct).ConfigureAwait(false),
                _ => await client.Schedules.ResumeAsync(name, actor, ct).ConfigureAwait(false),
            };
            if (result.GetValue(Json))
            {
                WriteJson(output, ScheduleView.Of(schedule));
            }
            else if (_verb == "reset")
            {
                output.WriteLine($"{name} reset to its declaration in code: {schedule.Cron} ({schedule.TimeZone}), next tick {Time(schedule.NextTick)}{(schedule.Paused ? ", paused" : "")}");
            }
            else
            {
                output.WriteLine(schedule.Paused
                    ? $"{name} paused: its ticks spawn no job until resumed; jobs of earlier ticks run on"
                    : $"{name} resumed: next tick {Time(schedule.NextTick)}");
            }

            return SiloCommandLine.ExitOk;
        }
    }

    /// <summary>A schedule as the JSON output shows it: names as the options take them, the config as JSON.</summary>
    private sealed record ScheduleView(
        string Name,
        string JobType,
        string Cron,
        string TimeZone,
        JsonElement Config,
        short Priority,
        string Misfire,
        double MisfireThresholdSeconds,
        string Overlap,
        bool Paused,
        DateTimeOffset? NextTick,
        DateTimeOffset? LastTick,
        JobId? LastJobId,
        string Source,
        bool DeclaredInCode,
        DateTimeOffset CreatedAt,
        DateTimeOffset UpdatedAt,
        string? UpdatedBy)
    {
        public static ScheduleView Of(JobSchedule s)
        {
            using var config = JsonDocument.Parse(s.ConfigJson);
            return new(s.Name, s.JobType.Name, s.Cron, s.TimeZone, config.RootElement.Clone(), s.Priority, MisfireName(s.Misfire), s.MisfireThreshold.TotalSeconds,
                OverlapName(s.Overlap), s.Paused, s.NextTick, s.LastTick, s.LastJobId, s.Source == JobScheduleSource.Code ? "code" : "run-time", s.DeclaredInCode,
                s.CreatedAt, s.UpdatedAt, s.UpdatedBy);
        }
    }

    private static string StateOf(JobSchedule schedule) => schedule.Paused ? "paused" : "running";

    private static string OverlapName(JobOverlapPolicy overlap) => overlap.ToString().ToLowerInvariant();

    /// <summary>A misfire policy as <c>--misfire</c> takes it.</summary>
    private static string MisfireName(JobMisfirePolicy misfire) => misfire.Kind switch
    {
        JobMisfireKind.Skip => "skip",
        JobMisfireKind.RunOnce => "run-once",
        _ => $"catch-up:{misfire.Limit.ToString(CultureInfo.InvariantCulture)}",
    };
}
