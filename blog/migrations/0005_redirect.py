from django.db import migrations, models

import blog.models


class Migration(migrations.Migration):
    dependencies = [
        ("blog", "0004_page"),
    ]

    operations = [
        migrations.CreateModel(
            name="Redirect",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "old_path",
                    models.CharField(
                        help_text="The address that no longer has a page, such as /bytes/old-slug/.",
                        max_length=500,
                        unique=True,
                        validators=[blog.models.validate_site_path],
                    ),
                ),
                (
                    "new_path",
                    models.CharField(
                        help_text="Where readers are sent, such as /bytes/new-slug/.",
                        max_length=500,
                        validators=[blog.models.validate_site_path],
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
                "indexes": [models.Index(fields=["new_path"], name="redirect_new_path_idx")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("old_path", models.F("new_path")), _negated=True),
                        name="redirect_leads_elsewhere",
                        violation_error_message="A redirect must lead to another address.",
                    )
                ],
            },
        ),
    ]
