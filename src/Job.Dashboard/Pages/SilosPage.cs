using Microsoft.AspNetCore.Http;
using static Job.Dashboard.DashboardLayout;

namespace Job.Dashboard;

/// <summary>The silos Orleans membership lists, with their status, heartbeat and running jobs.</summary>
internal sealed class SilosPage(DashboardLayout layout)
{
    public async Task<IResult> SilosAsync(HttpContext http, CancellationToken ct)
    {
        var (o, admin, _) = Services(http);
        var silos = await admin.SilosAsync(ct).ConfigureAwait(false);
        var html = new Html();
        layout.Header(html, http, o, "silos", "Silos");
        html.Raw("<h1>Silos</h1><table id=\"silos\"><tr><th>Cluster</th><th>Address</th><th>Name</th><th>Host</th><th>Status</th><th>Started</th><th>Last heartbeat</th><th class=\"num\">Running jobs</th></tr>");
        var now = Now(http);
        foreach (var s in silos)
        {
            // A silo that stopped itself is Dead to Orleans too; one its peers declared dead crashed or was cut off.
            var (css, status) = s.Status switch
            {
                "Active" => ("ok", "Active"),
                "Dead" when s.SuspectedByPeers => ("bad", "Dead: declared by its peers"),
                "Dead" => ("", "Stopped"),
                _ => ("warn", s.Status),
            };
            html.Raw("<tr data-silo=\"").Attr(s.Address).Raw("\"><td>").Text(s.ClusterId).Raw("</td><td class=\"mono\">").Text(s.Address).Raw("</td><td>").Text(s.Name).Raw("</td><td>").Text(s.HostName)
                .Raw("</td><td><span class=\"badge ").Raw(css).Raw("\" data-status>").Text(status).Raw("</span></td><td>").When(s.StartedAt, now).Raw("</td><td>")
                .When(s.LastHeartbeatAt, now).Raw("</td><td class=\"num\">").Num(s.RunningJobs).Raw("</td></tr>");
        }

        html.Raw("</table>");
        if (silos.Count == 0)
        {
            html.Raw("<p class=\"muted\">Orleans membership lists no silo.</p>");
        }

        Footer(html, http);
        return Page(html);
    }
}
