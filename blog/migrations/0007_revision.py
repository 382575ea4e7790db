import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("blog", "0006_share_preview"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Revision",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("save", "Saved"), ("autosave", "Autosaved"), ("restore", "Restored")], default="save", max_length=10)),
                ("data", models.JSONField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("first_published", models.BooleanField(default=False)),
                ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                ("post", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="revisions", to="blog.post")),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
                "get_latest_by": ["created_at", "pk"],
                "indexes": [models.Index(fields=["post", "-created_at", "-id"], name="revision_post_created_idx")],
                "constraints": [models.CheckConstraint(condition=models.Q(("post__isnull", False), ("kind", "autosave"), _connector="OR"), name="revision_has_post_unless_autosave")],
            },
        ),
    ]
