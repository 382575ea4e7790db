import uuid

import django.utils.timezone
from django.db import migrations, models


def set_next_due(apps, schema_editor):
    """The next scheduled post of an existing site, so that it goes live on time."""
    Post = apps.get_model("blog", "Post")
    SiteVersion = apps.get_model("blog", "SiteVersion")
    due = (
        Post.objects.filter(status="published", published_at__gt=django.utils.timezone.now())
        .aggregate(due=models.Min("published_at"))["due"]
    )
    SiteVersion.objects.update_or_create(pk=1, defaults={"next_due": due})


class Migration(migrations.Migration):
    dependencies = [
        ("blog", "0007_revision"),
    ]

    operations = [
        migrations.AddField(
            model_name="siteversion",
            name="content",
            field=models.UUIDField(default=uuid.uuid4),
        ),
        migrations.AddField(
            model_name="siteversion",
            name="content_changed_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="siteversion",
            name="next_due",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(set_next_due, migrations.RunPython.noop),
    ]
