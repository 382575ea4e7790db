<?xml version="1.0" encoding="utf-8"?>
<!-- Shows Bytepress's RSS feed as a readable page when opened in a browser.
     Feed readers ignore it. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:content="http://purl.org/rss/1.0/modules/content/">
  <xsl:output method="html" encoding="utf-8" doctype-system="about:legacy-compat"/>
  <xsl:template match="/rss/channel">
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="title"/> (RSS feed)</title>
        <link rel="stylesheet" href="/static/css/site.css"/>
      </head>
      <body>
        <main class="wrap">
          <header class="page-header">
            <p class="kicker">RSS feed</p>
            <h1><xsl:value-of select="title"/></h1>
            <p class="page-header__lead"><xsl:value-of select="description"/></p>
          </header>
          <p class="series-box">
            This is a feed: copy its address into a feed reader to follow new posts.
            <a href="{link}">Visit the website</a>.
          </p>
          <xsl:for-each select="item">
            <article class="post-card">
              <h2 class="post-card__title"><a href="{link}"><xsl:value-of select="title"/></a></h2>
              <p class="meta"><xsl:value-of select="pubDate"/></p>
              <p class="post-card__summary"><xsl:value-of select="description"/></p>
            </article>
          </xsl:for-each>
        </main>
      </body>
    </html>
  </xsl:template>
</xsl:stylesheet>
