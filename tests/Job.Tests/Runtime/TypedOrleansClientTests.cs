using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Job.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Orleans.Configuration;

namespace Job.Tests.Runtime;

/// <summary>
/// A plain Orleans client as a team writes it with the typed extensions (Job.Interfaces) and
/// <c>UseJobCluster</c> (Job.OrleansClient), against real silos: the connection strings carry no
/// search_path (the Orleans tables are in schema <c>job</c>), and the database role must give its
/// password, so a client that rebuilt connections from a data source's connection string would fail.
/// </summary>
public sealed class TypedOrleansClientTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static string NewType(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>The fixture's connection string as an application has it: no search_path.</summary>
    private string PlainConnectionString => new NpgsqlConnectionStringBuilder(db.ConnectionString) { SearchPath = null }.ConnectionString;

    [Fact]
    public async Task A_client_on_UseJobCluster_spawns_typed_configs_awaits_and_reads_status_config_and_history()
    {
        var type = NewType("typed");
        var seen = new ConcurrentQueue<TestConfig>();
        var init = new TestInitializer(type, (_, config, _) =>
        {
            seen.Enqueue(config);
            return Task.FromResult(JobCompletion.Complete());
        });
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        jobs.AddInitializer(init);
        await jobs.StartPollAsync();
        await using var clients = new ClientHosts(); // stopped before the silos
        var grains = await clients.StartAsync(client => client.UseJobCluster(PlainConnectionString));

        var id = JobId.New();
        var spawned = await grains.SpawnJobAsync(new JobType(type), id, new TestConfig(7, "typed"));
        Assert.Equal(id, spawned.Id);
        Assert.Equal(JobStatus.Pending, spawned.Status);

        var done = await grains.AwaitJobCompletionAsync(id, TimeSpan.FromSeconds(30));
        Assert.Equal(JobStatus.Completed, done.Status);
        Assert.Equal(new TestConfig(7, "typed"), Assert.Single(seen));        // what the runner read
        Assert.Equal(new TestConfig(7, "typed"), done.Config<TestConfig>());  // what the client reads back
        Assert.Contains("\"value\": 7", done.ConfigJson, StringComparison.Ordinal); // the workers' JSON defaults (camelCase)
        Assert.Equal(JobStatus.Completed, (await grains.GetJobStatusAsync(id)).Status);
        var history = await grains.GetJobHistoryAsync(id);
        Assert.Equal(JobEventTypes.Initialized, history[0].Type);
        Assert.Equal(JobEventTypes.JobCompleted, history[^1].Type);
        Assert.False(await grains.CancelJobAsync(id)); // finished: left alone

        // The caller's serializer options are used (the workers read case-insensitively).
        var upper = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseUpper };
        var shouted = await grains.SpawnJobAsync(new JobType(type), JobId.New(), new TestConfig(8), new JobSpawnOptions { JsonSerializerOptions = upper });
        Assert.Contains("\"VALUE\":8", shouted.ConfigJson, StringComparison.Ordinal);
        Assert.Equal(8, (await grains.AwaitJobCompletionAsync(shouted.Id, TimeSpan.FromSeconds(30))).Config<TestConfig>(upper).Value);
        Assert.Contains(seen, c => c.Value == 8);

        // Unknown ids and bad input: specific errors, on the client side where they can be.
        await Assert.ThrowsAsync<JobNotFoundException>(() => grains.GetJobStatusAsync(JobId.New()));
        await Assert.ThrowsAsync<JobNotFoundException>(() => grains.CancelJobAsync(JobId.New()));
        await Assert.ThrowsAsync<JobNotFoundException>(() => grains.GetJobHistoryAsync(JobId.New()));
        var duplicate = await Assert.ThrowsAsync<DuplicateJobIdException>(() => grains.SpawnJobAsync(new JobType(type), id, new TestConfig(1)));
        Assert.Equal(id, duplicate.Id);
        await Assert.ThrowsAsync<InvalidOperationException>(() => grains.SpawnJobAsync(default(JobType), JobId.New(), new TestConfig(1)));
        await Assert.ThrowsAsync<ArgumentException>(() => grains.SpawnJobAsync(new JobType(type), JobId.New(), new TestConfig(1), new JobSpawnOptions { QueueId = "" }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => grains.AwaitJobCompletionAsync(id, TimeSpan.FromSeconds(-1)));
        var tooLarge = await Assert.ThrowsAsync<InvalidJobConfigException>(() =>
            grains.SpawnJobAsync(new JobType(type), JobId.New(), new TestConfig(1, new string('x', 2 << 20))));
        Assert.Contains("more than the limit", tooLarge.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scheduled_queued_prioritised_and_unique_spawns_cancel_and_a_cancelled_await()
    {
        var type = NewType("typed-kinds");
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        jobs.AddInitializer(TestInitializer.Completing(type));
        await jobs.StartPollAsync();
        await using var clients = new ClientHosts(); // stopped before the silos
        var grains = await clients.StartAsync(client => client.UseJobCluster(PlainConnectionString));
        var jobType = new JobType(type);

        // Scheduled an hour ahead, with a priority: it waits; an await given up on is cancelled at once, on both sides.
        var later = await grains.SpawnJobAsync(jobType, JobId.New(), new TestConfig(1), new JobSpawnOptions { ScheduleAt = jobs.Clock.Now.AddHours(1), Priority = 5 });
        Assert.Equal(JobStatus.Scheduled, later.Status);
        Assert.Equal((short)5, await SqlHelper.ScalarAsync<short>(db.ConnectionString, "SELECT priority FROM job_executions WHERE id = @id", ("id", later.Id.Value)));
        Assert.Equal(JobStatus.Scheduled, (await grains.GetJobStatusAsync(later.Id)).Status);
        await Assert.ThrowsAsync<JobAwaitTimeoutException>(() => grains.AwaitJobCompletionAsync(later.Id, TimeSpan.FromMilliseconds(200)));
        using (var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
        {
            var started = DateTime.UtcNow;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => grains.AwaitJobCompletionAsync(later.Id, TimeSpan.FromMinutes(5), giveUp.Token));
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), "the cancelled await did not end when its token was cancelled");
        }

        var waiter = grains.AwaitJobCompletionAsync(later.Id, TimeSpan.FromSeconds(30));
        Assert.True(await grains.CancelJobAsync(later.Id));
        Assert.Equal(JobStatus.Cancelled, (await waiter).Status);

        // A serial queue, in due order.
        var options = new JobSpawnOptions { QueueId = "account-7" };
        var first = await grains.SpawnJobAsync(jobType, JobId.New(), new TestConfig(1), options);
        var second = await grains.SpawnJobAsync(jobType, JobId.New(), new TestConfig(2), options);
        Assert.Equal("account-7", first.QueueId);
        var firstDone = await grains.AwaitJobCompletionAsync(first.Id, TimeSpan.FromSeconds(30));
        var secondDone = await grains.AwaitJobCompletionAsync(second.Id, TimeSpan.FromSeconds(30));
        Assert.Equal(JobStatus.Completed, secondDone.Status);
        Assert.True(firstDone.FinishedAt <= secondDone.FinishedAt, "the queue's second job finished before its first");

        // Queued and due later: the spawn reports what a read reports (the head is scheduled, the job behind it parked: pending).
        var inAnHour = jobs.Clock.Now.AddHours(1);
        var head = await grains.SpawnJobAsync(jobType, JobId.New(), new TestConfig(3), new JobSpawnOptions { QueueId = "account-8", ScheduleAt = inAnHour });
        var behind = await grains.SpawnJobAsync(jobType, JobId.New(), new TestConfig(4), new JobSpawnOptions { QueueId = "account-8", ScheduleAt = inAnHour.AddMinutes(1) });
        Assert.Equal(JobStatus.Scheduled, head.Status);
        Assert.Equal(JobStatus.Scheduled, (await grains.GetJobStatusAsync(head.Id)).Status);
        Assert.Equal(JobStatus.Pending, behind.Status);
        Assert.Equal(JobStatus.Pending, (await grains.GetJobStatusAsync(behind.Id)).Status);
        Assert.True(await grains.CancelJobAsync(head.Id) && await grains.CancelJobAsync(behind.Id));

        // Unique: one job per type, whoever asks how often.
        var uniqueType = new JobType(NewType("typed-unique"));
        var created = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => grains.SpawnUniqueJobAsync(uniqueType, JobId.New(), new TestConfig(i))));
        Assert.Single(created, c => c);
        Assert.Equal(1L, await SqlHelper.ScalarAsync<long>(db.ConnectionString, "SELECT count(*) FROM jobs WHERE job_type = @t", ("t", uniqueType.Name)));
    }

    [Fact]
    public async Task UseJobCluster_on_a_shared_data_source_finds_an_AddJobs_host_in_its_own_schema_with_the_default_cluster_id()
    {
        // A database of its own: the workers use schema tenant_jobs and Job's default cluster id.
        var cs = new NpgsqlConnectionStringBuilder(await db.CreateDatabaseAsync()) { SearchPath = null }.ConnectionString;
        await using var dataSource = NpgsqlDataSource.Create(cs);
        Assert.DoesNotContain("Password", dataSource.ConnectionString, StringComparison.OrdinalIgnoreCase);
        const string schema = "tenant_jobs";
        var type = NewType("typed-schema");
        var ports = global::Job.Hosting.FreePorts.Take(2);
        var silo = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        silo.UseOrleans(orleans =>
        {
            orleans.ConfigureEndpoints(IPAddress.Loopback, ports[0], ports[1], listenOnAnyHostAddress: false);
            orleans.AddJobs(o =>
            {
                o.DataSource = dataSource;
                o.ExecMigrations = true; // not the default with an application's data source
                o.Schema = schema;
            });
        });
        silo.Services.AddJobInitializer(TestInitializer.Completing(type));
        using var siloHost = silo.Build();
        await siloHost.StartAsync();
        try
        {
            await using var clients = new ClientHosts();
            var grains = await clients.StartAsync(client => client.UseJobCluster(dataSource, schema));
            Assert.Equal(JobClusterClientBuilderExtensions.DefaultClusterId, clients.Last.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ClusterOptions>>().Value.ClusterId);

            var job = await grains.SpawnJobAsync(new JobType(type), JobId.New(), new TestConfig(3));
            Assert.Equal(JobStatus.Completed, (await grains.AwaitJobCompletionAsync(job.Id, TimeSpan.FromSeconds(60))).Status);
            Assert.Equal(1L, await SqlHelper.ScalarAsync<long>(cs, $"SELECT count(*) FROM {schema}.jobs WHERE id = @id", ("id", job.Id.Value)));
        }
        finally
        {
            await siloHost.StopAsync();
        }
    }

    [Fact]
    public void UseJobCluster_checks_its_options_when_configured_and_never_shows_the_connection_string()
    {
        var secret = "s3cr3t-" + Guid.NewGuid().ToString("N");
        Assert.Equal(JobsSiloBuilderExtensions.DefaultClusterId, JobClusterClientBuilderExtensions.DefaultClusterId);

        var neither = Assert.Throws<ArgumentException>(() => Configure(_ => { }));
        Assert.Contains("needs Job's database", neither.Message, StringComparison.Ordinal);
        using var dataSource = NpgsqlDataSource.Create("Host=localhost");
        var both = Assert.Throws<ArgumentException>(() => Configure(o =>
        {
            o.ConnectionString = "Host=localhost";
            o.DataSource = dataSource;
        }));
        Assert.Contains("not both", both.Message, StringComparison.Ordinal);
        var schema = Assert.Throws<ArgumentException>(() => Configure(o =>
        {
            o.ConnectionString = "Host=localhost";
            o.Schema = "Job Schema";
        }));
        Assert.Contains("JobClusterOptions.Schema", schema.Message, StringComparison.Ordinal);
        var malformed = Assert.Throws<ArgumentException>(() => Configure(o => o.ConnectionString = $"Host=localhost;Pasword={secret}"));
        Assert.Contains("not a valid PostgreSQL connection string", malformed.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, malformed.ToString(), StringComparison.Ordinal);

        static void Configure(Action<JobClusterOptions> configure)
        {
            var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            builder.UseOrleansClient(client => client.UseJobCluster(configure));
        }
    }

    /// <summary>Orleans client hosts of one test, stopped when it ends.</summary>
    private sealed class ClientHosts : IAsyncDisposable
    {
        private readonly List<IHost> _hosts = [];

        public IHost Last => _hosts[^1];

        public async Task<IClusterClient> StartAsync(Action<IClientBuilder> configure)
        {
            var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            builder.UseOrleansClient(configure);
            var host = builder.Build();
            try
            {
                await host.StartAsync();
            }
            catch
            {
                host.Dispose();
                throw;
            }

            _hosts.Add(host);
            return host.Services.GetRequiredService<IClusterClient>();
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var host in _hosts)
            {
                try
                {
                    await host.StopAsync(TimeSpan.FromSeconds(15));
                }
                finally
                {
                    host.Dispose();
                }
            }
        }
    }
}
