namespace Job.Tests.Silo;

/// <summary>
/// Issue 10.2: a program that references Job.Silo (as this test project does) must not receive
/// Job.Silo's configuration file: an appsettings.json in an application's folder is its own
/// configuration, and one copied in from a library silently configures it.
/// </summary>
public sealed class OutputFolderTests
{
    [Fact]
    public void No_appsettings_json_flows_into_a_project_that_references_Job_Silo()
    {
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "Job.Silo.dll")), "the test project references Job.Silo");
        Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, "appsettings.json")),
            $"appsettings.json was copied into {AppContext.BaseDirectory} by a referenced project");
    }
}
