using System.Collections.Concurrent;
using Job.Tests.Infrastructure;

namespace Job.Tests.Runtime;

/// <summary>
/// Fair dispatch (issue 11.5): one type's backlog cannot take every slot of a silo while another type
/// has due jobs. The rule: each claim gives every type with due jobs an equal share of the free room
/// (what one leaves goes to the others), and the silo's runners take claimed jobs round-robin by type,
/// so a type's share of the claims is its share of the slots.
/// </summary>
public sealed class FairDispatchTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task A_backlog_due_first_leaves_slots_to_another_type_with_due_jobs()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync(b => b.PollerConfig(new JobPollerConfig
        {
            MaxJobsPerProcess = 8,
            MinJobsPerProcess = 4,
            ShutdownTimeout = TimeSpan.FromSeconds(2),
        }));
        var release = new TaskCompletionSource();
        var started = new ConcurrentDictionary<string, int>();
        TestInitializer Gated(string type) => new(type, async (job, _, _) =>
        {
            started.AddOrUpdate(type, 1, (_, n) => n + 1);
            await release.Task;
            return JobCompletion.Complete();
        });
        var backlog = jobs.AddInitializer(Gated($"fair-backlog-{Guid.NewGuid():N}"));
        var other = jobs.AddInitializer(Gated($"fair-other-{Guid.NewGuid():N}"));

        // The backlog is due an hour before the other type's jobs: due order alone would give it every slot.
        var now = DateTimeOffset.UtcNow;
        await backlog.SpawnAllAsync(Enumerable.Range(0, 200).Select(i => new JobSpec<TestConfig>(JobId.New(), new TestConfig(i)) { ScheduleAt = now.AddHours(-1).AddSeconds(i) }));
        await other.SpawnAllAsync(Enumerable.Range(0, 4).Select(i => new JobSpec<TestConfig>(JobId.New(), new TestConfig(i)) { ScheduleAt = now.AddMinutes(-1) }));
        await jobs.StartPollAsync();

        // Eight slots, every run held: the other type's four jobs run beside four of the backlog's.
        await JobsHarness.EventuallyAsync(() => Task.FromResult(started.GetValueOrDefault(other.JobType.Name)), n => n == 4);
        await JobsHarness.EventuallyAsync(() => Task.FromResult(started.Values.Sum()), n => n == 8);
        Assert.Equal(4, started[backlog.JobType.Name]);
        release.SetResult();
    }
}
