using Job.Dashboard;

namespace Job.Tests.Dashboard;

/// <summary>The dashboard writes every time with its age, in whole units, past or future.</summary>
public sealed class DashboardTimeTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 3, 12, 9, TimeSpan.Zero);

    [Theory]
    [InlineData(0.4, "now")]
    [InlineData(-0.4, "now")]
    [InlineData(12, "12 s ago")]
    [InlineData(119.9, "119 s ago")]
    [InlineData(120, "2 min ago")]
    [InlineData(-180, "in 3 min")]
    [InlineData(7_199, "119 min ago")]
    [InlineData(5 * 3600, "5 h ago")]
    [InlineData(-47 * 3600, "in 47 h")]
    [InlineData(2 * 86_400 + 5, "2 d ago")]
    public void An_age_is_in_whole_units(double secondsAgo, string expected) =>
        Assert.Equal(expected, Html.Relative(Now.AddSeconds(-secondsAgo), Now));

    [Fact]
    public void A_time_is_written_in_utc_with_its_age_and_a_machine_readable_datetime()
    {
        var html = new Html().When(Now.ToOffset(TimeSpan.FromHours(2)).AddMinutes(-4), Now).ToString();
        Assert.Equal("<time datetime=\"2026-12-01T03:08:09Z\">2026-12-01 03:08:09Z</time> <span class=\"ago\">(4 min ago)</span>", html);
        Assert.Equal("—", new Html().When(null, Now).ToString());
    }
}
