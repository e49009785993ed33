using System.Globalization;
using System.Text.RegularExpressions;
using Job.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Job.Bench.Infrastructure;

/// <summary>
/// Server-side statement times from <c>pg_stat_statements</c> (needs a server started with it in
/// <c>shared_preload_libraries</c>): what every process's statements cost the server, workers in
/// other processes included. Also <c>EXPLAIN ANALYZE</c> of the claim statement with a worker's real
/// parameters, rolled back.
/// </summary>
public static partial class ServerStatements
{
    /// <summary>The settings a server needs for this.</summary>
    public static readonly IReadOnlyDictionary<string, string> ServerSettings = new Dictionary<string, string>
    {
        ["shared_preload_libraries"] = "pg_stat_statements",
        ["pg_stat_statements.max"] = "5000",
        ["pg_stat_statements.track"] = "top",
    };

    /// <summary>One statement kind's totals.</summary>
    public sealed record Stat(string Name, long Calls, double TotalMs, double MaxMs, long Rows)
    {
        public double MeanMs => Calls > 0 ? TotalMs / Calls : 0;

        public object Json() => new { calls = Calls, total_ms = Math.Round(TotalMs, 1), mean_ms = Math.Round(MeanMs, 3), max_ms = Math.Round(MaxMs, 3), rows = Rows };
    }

    /// <summary>The claim plan's execution and planning times, and its costly lines.</summary>
    public sealed record Plan(double ExecutionMs, double PlanningMs, IReadOnlyList<string> Lines)
    {
        /// <summary>The plan lines whose node took at least 10 % of the execution (actual total time × loops).</summary>
        public IEnumerable<string> CostlyLines()
        {
            foreach (var line in Lines)
            {
                var m = ActualTime().Match(line);
                if (m.Success)
                {
                    var total = double.Parse(m.Groups["end"].Value, CultureInfo.InvariantCulture) * long.Parse(m.Groups["loops"].Value, CultureInfo.InvariantCulture);
                    if (total >= ExecutionMs * 0.1)
                    {
                        yield return line.Trim();
                    }
                }
            }
        }
    }

    public static async Task EnableAsync(BenchDatabase db, CancellationToken ct) =>
        await db.ExecuteAsync("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", ct).ConfigureAwait(false);

    public static async Task ResetAsync(BenchDatabase db, CancellationToken ct) =>
        await db.ExecuteAsync("SELECT pg_stat_statements_reset()", ct).ConfigureAwait(false);

    /// <summary>This database's statements since the last reset, grouped by kind, costliest first.</summary>
    public static async Task<IReadOnlyList<Stat>> ReadAsync(BenchDatabase db, CancellationToken ct)
    {
        var byName = new Dictionary<string, Stat>(StringComparer.Ordinal);
        await using var cmd = db.DataSource.CreateCommand("""
            SELECT query, calls, total_exec_time, max_exec_time, rows
            FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            """);
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var name = Classify(reader.GetString(0));
            var s = new Stat(name, reader.GetInt64(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetInt64(4));
            byName[name] = byName.TryGetValue(name, out var seen)
                ? seen with { Calls = seen.Calls + s.Calls, TotalMs = seen.TotalMs + s.TotalMs, MaxMs = Math.Max(seen.MaxMs, s.MaxMs), Rows = seen.Rows + s.Rows }
                : s;
        }

        return [.. byName.Values.OrderByDescending(s => s.TotalMs)];
    }

    /// <summary>The runtime's statements by a phrase only each contains (never a string literal:
    /// pg_stat_statements may show literals as $n); Orleans' and the bench's by table.</summary>
    public static string Classify(string query) => query switch
    {
        _ when query.Contains("job_claim(", StringComparison.Ordinal) => "claim",
        _ when query.Contains("job_finish(", StringComparison.Ordinal) => "finish",
        _ when query.Contains("job_promote(", StringComparison.Ordinal) => "promote (scheduler)",
        _ when query.Contains("job_spawn(", StringComparison.Ordinal) => "spawn",
        _ when query.Contains("job_rescue(", StringComparison.Ordinal) => "rescue",
        _ when query.Contains("SET alive_at = now()", StringComparison.Ordinal) => "heartbeat",
        _ when query.Contains("head.execute_at", StringComparison.Ordinal) => "waiting report (maintenance)",
        _ when query.Contains("WITH RECURSIVE types AS", StringComparison.Ordinal) => "pending types (discovery)",
        _ when query.Contains("GROUP BY job_type, state", StringComparison.Ordinal) => "queue depth (metrics)",
        _ when query.Contains("WITH doomed AS", StringComparison.Ordinal) => "prune (maintenance)",
        _ when query.Contains("deployment_id <> ", StringComparison.Ordinal) => "cluster guard",
        _ when query.Contains("inserted_jobs", StringComparison.Ordinal) => "bench (setup insert)",
        _ when query.Contains("orleans_reminders", StringComparison.OrdinalIgnoreCase) => "orleans reminders",
        _ when query.Contains("orleans_membership", StringComparison.OrdinalIgnoreCase) => "orleans membership",
        _ when query.Contains("bench_starts", StringComparison.Ordinal) => "bench (start rows)",
        _ when query.StartsWith("SELECT (SELECT count(*) FROM job_executions", StringComparison.Ordinal) => "bench (drain check)",
        _ when query.Contains("pg_stat_statements", StringComparison.Ordinal) => "bench (pg_stat_statements)",
        _ when query.StartsWith("LISTEN", StringComparison.Ordinal) => "listen",
        "DISCARD ALL" or "RESET ALL" or "SET SESSION AUTHORIZATION DEFAULT" or "CLOSE ALL" or "UNLISTEN *" or "SELECT pg_advisory_unlock_all()"
            or "DISCARD SEQUENCES" or "DISCARD TEMP" => "connection reset (Npgsql pool)",
        _ => "other: " + Shorten(query),
    };

    private static string Shorten(string query)
    {
        var text = Whitespace().Replace(Comments().Replace(query, " "), " ").Trim();
        return text.Length <= 60 ? text : text[..60] + "…";
    }

    [GeneratedRegex(@"--[^\n]*")]
    private static partial Regex Comments();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    /// <summary><c>EXPLAIN (ANALYZE, BUFFERS)</c> of the runtime's claim statement as a poller with
    /// <paramref name="types"/> registered and room for <paramref name="limit"/> runs sends it, in a
    /// transaction that is rolled back (whatever it would claim stays pending).</summary>
    public static async Task<Plan> ExplainClaimAsync(BenchDatabase db, string[] types, int limit, CancellationToken ct)
    {
        await using var conn = await db.DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        var claim = new global::Job.Storage.JobDatabase(db.DataSource, JobSchema.Default).Text(global::Job.Storage.RuntimeSql.Claim);
        claim = claim[(claim.LastIndexOf(";\n", StringComparison.Ordinal) + 2)..]; // the claim itself, after its set_config
        await using var cmd = new NpgsqlCommand("EXPLAIN (ANALYZE, BUFFERS)\n" + claim, conn, tx);
        cmd.Parameters.AddWithValue("types", NpgsqlDbType.Array | NpgsqlDbType.Varchar, types);
        cmd.Parameters.AddWithValue("quotas", NpgsqlDbType.Array | NpgsqlDbType.Integer, types.Select(_ => limit).ToArray());
        cmd.Parameters.AddWithValue("oldest", NpgsqlDbType.Array | NpgsqlDbType.Integer, types.Select(_ => 0).ToArray());
        cmd.Parameters.AddWithValue("now", NpgsqlDbType.TimestampTz, DateTime.UtcNow);
        cmd.Parameters.AddWithValue("limit", NpgsqlDbType.Integer, limit);
        cmd.Parameters.AddWithValue("silo", NpgsqlDbType.Varchar, "bench-explain");
        cmd.Parameters.AddWithValue("cluster", NpgsqlDbType.Varchar, DBNull.Value);
        cmd.Parameters.AddWithValue("address", NpgsqlDbType.Varchar, DBNull.Value);
        cmd.Parameters.AddWithValue("port", NpgsqlDbType.Integer, DBNull.Value);
        cmd.Parameters.AddWithValue("generation", NpgsqlDbType.Integer, DBNull.Value);
        cmd.CommandTimeout = 300;
        var lines = new List<string>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                lines.Add(reader.GetString(0));
            }
        }

        await tx.RollbackAsync(ct).ConfigureAwait(false);
        return new Plan(Time(lines, "Execution Time"), Time(lines, "Planning Time"), lines);
    }

    private static double Time(List<string> lines, string label)
    {
        var line = lines.FirstOrDefault(l => l.TrimStart().StartsWith(label, StringComparison.Ordinal));
        var m = line is null ? null : Milliseconds().Match(line);
        return m is { Success: true } ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN;
    }

    [GeneratedRegex(@"actual time=[\d.]+\.\.(?<end>[\d.]+) rows=\d+ loops=(?<loops>\d+)")]
    private static partial Regex ActualTime();

    [GeneratedRegex(@"([\d.]+) ms")]
    private static partial Regex Milliseconds();
}
