using System.Diagnostics;
using System.Net;
using Job.TestSilo;
using Job.Tests.Infrastructure;

namespace Job.Tests.Silo;

/// <summary>
/// The product as shipped: Job.Silo processes on one database form one cluster that a plain Orleans
/// client (samples/JobClient: Job.Interfaces and the Orleans client packages only) uses to run a
/// job; and with no connection string, a silo starts its own PostgreSQL.
/// </summary>
[Collection(Cluster.ClusterCollection.Name)] // separate processes: never alongside the other crash tests
public sealed class SiloProcessClusterTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Two_silo_processes_form_one_cluster_that_a_plain_client_uses()
    {
        await using var first = SiloHost.Start(new() { ["ConnectionStrings__Jobs"] = db.ConnectionString });
        await using var second = SiloHost.Start(new() { ["ConnectionStrings__Jobs"] = db.ConnectionString });
        await Task.WhenAll(first.WaitReadyAsync(ReadyTimeout), second.WaitReadyAsync(ReadyTimeout));

        var active = await SqlScalarAsync("SELECT count(*) FROM orleans_membership WHERE status = 3");
        Assert.Equal(2L, active);

        // samples/JobClient: a plain Orleans client (UseJobCluster), typed spawn of demo.hello, await, history.
        var client = await DotnetProcess.RunAsync("JobClient.dll", [db.ConnectionString, "silo processes", "demo.hello"], TimeSpan.FromSeconds(90));
        Assert.True(client.ExitCode == 0, $"exit {client.ExitCode}: {client.StdOut} {client.StdErr}");
        Assert.Contains("for silo processes: Completed", client.StdOut);
    }

    [Fact]
    public async Task Without_a_connection_string_a_silo_starts_its_own_PostgreSQL()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), $"job-embedded-{Guid.NewGuid():N}");
        try
        {
            await using var silo = SiloHost.Start(new() { ["Embedded__DataDirectory"] = dataDir });
            await silo.WaitReadyAsync(ReadyTimeout);
            Assert.Contains(silo.Output, line => line.Contains("embedded PostgreSQL", StringComparison.OrdinalIgnoreCase));
            Assert.Equal(0, await silo.StopAsync(TimeSpan.FromSeconds(60)));
        }
        finally
        {
            try
            {
                Directory.Delete(dataDir, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private async Task<long> SqlScalarAsync(string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand(sql, connection);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>One Job.Silo process on free ports, ready when its /readyz answers 200.</summary>
    private sealed class SiloHost : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly int _healthPort;
        private readonly List<string> _output = [];

        private SiloHost(Process process, int healthPort)
        {
            _process = process;
            _healthPort = healthPort;
            _process.OutputDataReceived += (_, e) => Record(e.Data);
            _process.ErrorDataReceived += (_, e) => Record(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public IReadOnlyList<string> Output
        {
            get
            {
                lock (_output)
                {
                    return [.. _output];
                }
            }
        }

        public static SiloHost Start(Dictionary<string, string> environment)
        {
            var ports = FreePorts.Take(3);
            var (health, siloPort, gatewayPort) = (ports[0], ports[1], ports[2]);
            var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = Path.GetTempPath(),
            };
            start.ArgumentList.Add(BuiltPrograms.PathOf("Job.Silo.dll"));
            start.Environment.Remove("ConnectionStrings__Jobs");
            start.Environment["Orleans__SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            start.Environment["Orleans__GatewayPort"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            start.Environment["Health__Port"] = health.ToString(System.Globalization.CultureInfo.InvariantCulture);
            foreach (var (key, value) in environment)
            {
                start.Environment[key] = value;
            }

            return new SiloHost(Process.Start(start) ?? throw new InvalidOperationException("Could not start Job.Silo."), health);
        }

        public async Task WaitReadyAsync(TimeSpan timeout)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                Assert.False(_process.HasExited, $"Job.Silo exited with {(_process.HasExited ? _process.ExitCode : 0)}: {string.Join('\n', Output)}");
                try
                {
                    using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{_healthPort}/readyz"));
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException)
                {
                }

                await Task.Delay(200);
            }

            throw new TimeoutException($"Job.Silo was not ready within {timeout}: {string.Join('\n', Output)}");
        }

        /// <summary>SIGTERM, as an orchestrator stops a silo; returns the exit code.</summary>
        public async Task<int> StopAsync(TimeSpan timeout)
        {
            if (!_process.HasExited)
            {
                using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                await kill!.WaitForExitAsync();
                using var cts = new CancellationTokenSource(timeout);
                await _process.WaitForExitAsync(cts.Token);
            }

            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await StopAsync(TimeSpan.FromSeconds(30));
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }

        private void Record(string? line)
        {
            if (line is not null)
            {
                lock (_output)
                {
                    _output.Add(line);
                }
            }
        }
    }
}
