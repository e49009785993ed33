using System.Net;
using Job.Grains;

namespace Job.Tests.Grains;

public sealed class LocalRunDirectoryTests
{
    private static readonly SiloAddress s_silo = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11111), 1);
    private static readonly SiloAddress s_otherSilo = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11112), 1);

    private static GrainAddress Address(GrainId grain, SiloAddress? silo = null) =>
        new() { GrainId = grain, SiloAddress = silo ?? s_silo, ActivationId = ActivationId.NewId() };

    [Fact]
    public async Task The_first_activation_of_a_job_wins_until_it_leaves()
    {
        var directory = new LocalRunDirectory();
        var grain = GrainId.Create("job", Guid.NewGuid().ToString("N"));
        Assert.Null(await directory.Lookup(grain));

        var first = Address(grain);
        var second = Address(grain);
        Assert.Equal(first, await directory.Register(first));
        Assert.Equal(first, await directory.Register(second)); // an existing entry is not overridden
        Assert.Equal(first, await directory.Register(second, Address(grain))); // nor replaced by naming another
        Assert.Equal(second, await directory.Register(second, first)); // unless it is the one replaced
        Assert.Equal(second, await directory.Lookup(grain));

        await directory.Unregister(first); // a stale activation's late unregistration changes nothing
        Assert.Equal(second, await directory.Lookup(grain));
        await directory.Unregister(second);
        Assert.Null(await directory.Lookup(grain));
        Assert.Equal(0, directory.Count); // nothing is left behind once activations leave
    }

    [Fact]
    public async Task Entries_of_dead_silos_are_dropped_and_others_kept()
    {
        var directory = new LocalRunDirectory();
        var mine = Address(GrainId.Create("job", "a"));
        var theirs = Address(GrainId.Create("job", "b"), s_otherSilo);
        await directory.Register(mine);
        await directory.Register(theirs);

        await directory.UnregisterSilos([s_otherSilo]);
        Assert.Equal(mine, await directory.Lookup(mine.GrainId));
        Assert.Null(await directory.Lookup(theirs.GrainId));
    }
}
