from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("blog", "0008_content_version"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="post",
            name="post_status_published_idx",
        ),
        migrations.RemoveIndex(
            model_name="post",
            name="post_section_published_idx",
        ),
        migrations.AddIndex(
            model_name="post",
            index=models.Index(
                fields=["status", "-published_at", "-id", "section", "series"],
                name="post_status_published_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="post",
            index=models.Index(
                fields=["section", "status", "-published_at", "-id", "series"],
                name="post_section_published_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="post",
            index=models.Index(
                fields=["series", "status", "series_position", "published_at"],
                name="post_series_parts_idx",
            ),
        ),
    ]
