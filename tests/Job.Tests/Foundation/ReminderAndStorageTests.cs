using Job.Tests.Infrastructure;
using Job.Tests.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace Job.Tests.Foundation;

/// <summary>
/// Orleans reminders and the default grain storage that <c>AddJobs</c> puts on PostgreSQL, exercised by
/// test grains on one real silo shared by the class.
/// </summary>
public sealed class ReminderAndStorageTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private const string ServiceId = "job-foundation-rs";
    private readonly FoundationHosts _hosts = new();
    private IHost? _silo;

    private IGrainFactory Grains => _silo!.Services.GetRequiredService<IGrainFactory>();

    public async Task InitializeAsync() =>
        _silo = await _hosts.StartSiloAsync(db.ConnectionString, FoundationHosts.NewClusterId(), ServiceId, silo =>
            silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1)));

    public async Task DisposeAsync() => await _hosts.DisposeAsync();

    [Fact]
    public async Task A_reminder_fires_repeatedly_and_stops_when_unregistered()
    {
        var key = $"r-{Guid.NewGuid():N}";
        const string name = "tick";
        var tickKey = $"{key}/{name}";
        var grain = Grains.GetGrain<IReminderTestGrain>(key);

        await grain.RegisterAsync(name, TimeSpan.FromSeconds(1));
        Assert.True(await grain.HasReminderAsync(name));
        Assert.Equal(1L, await ReminderRowsAsync(key));

        var ticks = await JobsHarness.EventuallyAsync(() => Task.FromResult(ReminderTicks.Get(tickKey)), n => n >= 2, TimeSpan.FromSeconds(30));
        Assert.True(ticks >= 2, $"expected at least 2 ticks within 30 s, saw {ticks}");

        await grain.UnregisterAsync(name);
        Assert.False(await grain.HasReminderAsync(name));
        Assert.Equal(0L, await ReminderRowsAsync(key));

        await Task.Delay(1000); // a tick already being delivered may still land (late on a loaded machine)
        var afterUnregister = ReminderTicks.Get(tickKey);
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.Equal(afterUnregister, ReminderTicks.Get(tickKey));
    }

    [Fact]
    public async Task State_written_by_one_activation_is_read_by_the_next()
    {
        var key = $"s-{Guid.NewGuid():N}";
        var grain = Grains.GetGrain<IStateTestGrain>(key);

        var fresh = await grain.ReadAsync();
        Assert.False(fresh.RecordExists);
        Assert.Null(fresh.Text);

        await grain.WriteAsync("hello", 42);
        Assert.Equal(1L, await StorageRowsAsync(key, withPayload: true));
        var first = await DeactivateAsync(grain, fresh.ActivationId);

        Assert.True(first.RecordExists);
        Assert.Equal("hello", first.Text);
        Assert.Equal(42, first.Number);

        // Overwrite (presents the ETag read at activation) and read again in yet another activation.
        await grain.WriteAsync("again", 43);
        var second = await DeactivateAsync(grain, first.ActivationId);
        Assert.Equal("again", second.Text);
        Assert.Equal(43, second.Number);
        Assert.NotEqual(first.ETag, second.ETag);
        Assert.Equal(1L, await StorageRowsAsync(key, withPayload: true));
    }

    [Fact]
    public async Task Cleared_state_reads_as_absent_and_can_be_written_again()
    {
        var key = $"c-{Guid.NewGuid():N}";
        var grain = Grains.GetGrain<IStateTestGrain>(key);
        await grain.WriteAsync("doomed", 1);
        var written = await DeactivateAsync(grain, (await grain.ReadAsync()).ActivationId);
        Assert.True(written.RecordExists);

        await grain.ClearAsync();
        var afterClear = await grain.ReadAsync();
        Assert.False(afterClear.RecordExists);
        var reloaded = await DeactivateAsync(grain, afterClear.ActivationId);
        Assert.False(reloaded.RecordExists);
        Assert.Null(reloaded.Text);
        Assert.Equal(0, reloaded.Number);
        Assert.Equal(0L, await StorageRowsAsync(key, withPayload: true));

        await grain.WriteAsync("reborn", 2);
        var reborn = await DeactivateAsync(grain, reloaded.ActivationId);
        Assert.True(reborn.RecordExists);
        Assert.Equal("reborn", reborn.Text);
        Assert.Equal(2, reborn.Number);
    }

    /// <summary>Deactivates the grain and returns what a new activation (checked to be new) reads.</summary>
    private static async Task<StateTestSnapshot> DeactivateAsync(IStateTestGrain grain, Guid previousActivation)
    {
        await grain.DeactivateAsync();
        var snapshot = await JobsHarness.EventuallyAsync(async () =>
        {
            await Task.Delay(100);
            return await grain.ReadAsync();
        }, s => s.ActivationId != previousActivation, TimeSpan.FromSeconds(30));
        Assert.NotEqual(previousActivation, snapshot.ActivationId);
        return snapshot;
    }

    private Task<long> ReminderRowsAsync(string key) =>
        FoundationHosts.ScalarAsync<long>(
            db.ConnectionString,
            "SELECT count(*) FROM orleans_reminders WHERE service_id = @s AND grain_id = @g",
            ("s", ServiceId), ("g", $"test-reminder/{key}"));

    private Task<long> StorageRowsAsync(string key, bool withPayload) =>
        FoundationHosts.ScalarAsync<long>(
            db.ConnectionString,
            "SELECT count(*) FROM orleans_storage WHERE service_id = @s AND grain_id_extension = @k AND (payload IS NOT NULL) = @p",
            ("s", ServiceId), ("k", key), ("p", withPayload));
}
