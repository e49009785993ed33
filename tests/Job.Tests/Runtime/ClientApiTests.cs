using Job.Tests.Foundation;
using Job.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Job.Tests.Runtime;

/// <summary>What a plain Orleans client (only Job.Interfaces and the client packages) can do, and bad input from it.</summary>
public sealed class ClientApiTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static string NewType(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private async Task<(Jobs Jobs, IClusterClient Client, JobsHarness Harness, FoundationHosts Hosts)> StartAsync(params IJobInitializer<TestConfig>[] initializers)
    {
        var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        foreach (var initializer in initializers)
        {
            jobs.AddInitializer(initializer);
        }

        await jobs.StartPollAsync();
        var hosts = new FoundationHosts();
        var clientHost = await hosts.StartClientAsync(db.ConnectionString, "job", "job");
        return (jobs, clientHost.Services.GetRequiredService<IClusterClient>(), harness, hosts);
    }

    [Fact]
    public async Task A_client_spawns_by_type_name_awaits_completion_and_reads_history()
    {
        var type = NewType("client");
        var (_, client, harness, hosts) = await StartAsync(TestInitializer.Completing(type));
        await using var _h = harness;
        await using var _c = hosts;

        var id = JobId.New();
        var spawned = await client.GetGrain<IJobTypeGrain>(type).SpawnAsync(new JobSpawnRequest { Id = id, ConfigJson = """{"value":7}""" });
        Assert.Equal(JobStatus.Pending, spawned.Status);

        var done = await client.GetGrain<IJobGrain>(id.Value).AwaitCompletionAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(JobStatus.Completed, done.Status);
        Assert.Equal("""{"value": 7}""", done.ConfigJson);
        var history = await client.GetGrain<IJobGrain>(id.Value).GetHistoryAsync();
        Assert.Equal(JobEventTypes.JobCompleted, history[^1].Type);

        // Awaiting a job that already ended returns at once.
        Assert.Equal(JobStatus.Completed, (await client.GetGrain<IJobGrain>(id.Value).AwaitCompletionAsync(TimeSpan.FromMilliseconds(1))).Status);
    }

    [Fact]
    public async Task A_client_cancels_a_pending_job_and_await_times_out_cleanly()
    {
        var type = NewType("cancel");
        var (jobs, client, harness, hosts) = await StartAsync(TestInitializer.Completing(type));
        await using var _h = harness;
        await using var _c = hosts;

        var id = JobId.New();
        await client.GetGrain<IJobTypeGrain>(type).SpawnAsync(new JobSpawnRequest { Id = id, ConfigJson = "{}", ScheduleAt = jobs.Clock.Now.AddHours(1) });
        var grain = client.GetGrain<IJobGrain>(id.Value);
        await Assert.ThrowsAsync<JobAwaitTimeoutException>(() => grain.AwaitCompletionAsync(TimeSpan.FromMilliseconds(300)));

        var waiter = grain.AwaitCompletionAsync(TimeSpan.FromSeconds(15));
        Assert.True(await grain.CancelAsync());
        Assert.Equal(JobStatus.Cancelled, (await waiter).Status); // the waiter is woken by the cancel
        Assert.False(await grain.CancelAsync());
        Assert.Equal(JobTerminalState.Cancelled, (await jobs.FindAsync(id)).TerminalState);

        await Assert.ThrowsAsync<JobNotFoundException>(() => client.GetGrain<IJobGrain>(Guid.NewGuid()).GetSnapshotAsync());
        await Assert.ThrowsAsync<JobNotFoundException>(() => client.GetGrain<IJobGrain>(Guid.NewGuid()).CancelAsync());
    }

    [Fact]
    public async Task Bad_input_from_a_client_gets_specific_errors_and_writes_nothing()
    {
        var type = NewType("bad-input");
        var init = new TestInitializer(type, (_, _, _) => Task.FromResult(JobCompletion.Complete())) { RetryOnErrorSettings = new RetrySettings { NAttempts = 1 } };
        var (jobs, client, harness, hosts) = await StartAsync(init);
        await using var _h = harness;
        await using var _c = hosts;
        var typeGrain = client.GetGrain<IJobTypeGrain>(type);

        var malformed = JobId.New();
        var ex = await Assert.ThrowsAsync<InvalidJobConfigException>(() => typeGrain.SpawnAsync(new JobSpawnRequest { Id = malformed, ConfigJson = "{not json" }));
        Assert.Contains("not valid JSON", ex.Message);
        await Assert.ThrowsAsync<JobNotFoundException>(() => jobs.FindAsync(malformed));

        var huge = JobId.New();
        var tooLarge = await Assert.ThrowsAsync<InvalidJobConfigException>(() => typeGrain.SpawnAsync(new JobSpawnRequest { Id = huge, ConfigJson = $"\"{new string('x', 2 << 20)}\"" }));
        Assert.Contains("more than the limit", tooLarge.Message);
        await Assert.ThrowsAsync<JobNotFoundException>(() => jobs.FindAsync(huge));

        var badType = await Assert.ThrowsAsync<InvalidJobTypeException>(() => client.GetGrain<IJobTypeGrain>("no spaces; please").SpawnAsync(new JobSpawnRequest { Id = JobId.New(), ConfigJson = "{}" }));
        Assert.Contains("no spaces; please", badType.Message);

        var existing = (await typeGrain.SpawnAsync(new JobSpawnRequest { Id = JobId.New(), ConfigJson = "{}" })).Id;
        var dup = await Assert.ThrowsAsync<DuplicateJobIdException>(() => typeGrain.SpawnAsync(new JobSpawnRequest { Id = existing, ConfigJson = "{}" }));
        Assert.Equal(existing, dup.Id);

        // Valid JSON that does not fit the job's config type: a failed attempt with a clear message.
        var misfit = JobId.New();
        await typeGrain.SpawnAsync(new JobSpawnRequest { Id = misfit, ConfigJson = """{"value":"not a number"}""" });
        var ended = await client.GetGrain<IJobGrain>(misfit.Value).AwaitCompletionAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(JobStatus.Errored, ended.Status);
        Assert.Contains("does not deserialize into TestConfig", ended.LastError);
        var error = Assert.Single(await client.GetGrain<IJobGrain>(misfit.Value).GetHistoryAsync(), e => e.Type == JobEventTypes.ExecutionErrored);
        Assert.Equal(typeof(InvalidJobConfigException).FullName, error.ErrorType);
    }

    [Fact]
    public async Task Spawn_unique_from_many_callers_on_two_silos_and_a_client_creates_exactly_one()
    {
        var type = NewType("unique-race");
        var (jobs, client, harness, hosts) = await StartAsync(TestInitializer.Completing(type));
        await using var _h = harness;
        await using var _c = hosts;
        var second = await harness.StartAsync();

        var callers = new[] { client, jobs.GrainFactory, second.GrainFactory };
        var results = await Task.WhenAll(Enumerable.Range(0, 30).Select(i =>
            callers[i % callers.Length].GetGrain<IJobTypeGrain>(type).SpawnUniqueAsync(new JobSpawnRequest { Id = JobId.New(), ConfigJson = "{}" })));
        Assert.Single(results, created => created);
        Assert.Equal(1L, await SqlHelper.ScalarAsync<long>(db.ConnectionString, "SELECT count(*) FROM jobs WHERE job_type = @t", ("t", type)));

        // Once it ran to completion, the type stays blocked (the crate's permanent semantics).
        var id = await SqlHelper.ScalarAsync<Guid>(db.ConnectionString, "SELECT id FROM jobs WHERE job_type = @t", ("t", type));
        await jobs.AwaitCompletionAsync(id, TimeSpan.FromSeconds(15));
        Assert.False(await client.GetGrain<IJobTypeGrain>(type).SpawnUniqueAsync(new JobSpawnRequest { Id = JobId.New(), ConfigJson = "{}" }));
    }

    [Fact]
    public async Task The_sample_Orleans_client_spawns_a_typed_job_with_a_plain_connection_string()
    {
        var type = NewType("plain-client");
        var (_, _, harness, hosts) = await StartAsync(TestInitializer.Completing(type));
        await using var _h = harness;
        await using var _c = hosts;

        // As an application has it: no search_path (UseJobCluster finds the Orleans tables in schema job),
        // and a role that must give its password.
        var plain = new Npgsql.NpgsqlConnectionStringBuilder(db.ConnectionString) { SearchPath = null }.ConnectionString;
        var result = await DotnetProcess.RunAsync("JobClient.dll", [plain, "sample", type], TimeSpan.FromSeconds(90));
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.StdOut} {result.StdErr}");
        Assert.Contains("for sample: Completed", result.StdOut);
        Assert.Contains(JobEventTypes.JobCompleted, result.StdOut);
    }
}
